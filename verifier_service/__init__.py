"""Verifier and reward service for reinforcement learning on language models."""

__version__ = "0.1.0"
