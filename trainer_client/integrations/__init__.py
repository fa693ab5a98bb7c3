"""Adapters that make the service a reward for TRL, verl and OpenRLHF."""
