"""Fixtures of the reliability tests (defined in reliability_support, shared here)."""

from reliability_support import docker_ready, fake_judge, start_load, start_service

__all__ = ["docker_ready", "fake_judge", "start_load", "start_service"]
