"""vllm.utils.random_uuid, imported by OpenRLHF's engine module."""

import uuid


def random_uuid() -> str:
    return uuid.uuid4().hex
