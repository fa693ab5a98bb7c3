"""The generative judge: prompts, verdict parsing and backends."""
