"""The thin GRPO trainer and the client of the reward service."""
