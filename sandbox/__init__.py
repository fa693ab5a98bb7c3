"""Code execution for model-written programs, usable without the service."""
