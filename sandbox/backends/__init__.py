"""Sandbox backends: docker (warm container pool) and local (namespaces + rlimits)."""
