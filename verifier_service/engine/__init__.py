"""Pure grading logic: importable and testable without the web layer."""
