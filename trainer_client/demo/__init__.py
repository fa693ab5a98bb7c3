"""A synthetic arithmetic task, a tiny model and a GRPO run that improves it, on a CPU."""
