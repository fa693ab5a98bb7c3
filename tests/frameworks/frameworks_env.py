"""Runs a driver script under the RL frameworks' own released code (installed in .frameworks/).

The frameworks pin versions the service cannot share (omegaconf needs ANTLR 4.9, the math
grader 4.13), so they live in their own directory, put first on the path of a subprocess only;
`make install` fills it from tests/frameworks/requirements.txt.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
FRAMEWORKS = ROOT / ".frameworks"
DRIVERS = Path(__file__).resolve().parent / "drivers"
STUBS = Path(__file__).resolve().parent / "stubs"


def run_driver(
    name: str, config: dict[str, Any], *, fake_vllm: bool = False, timeout_s: float = 240
) -> Any:
    """Run ``drivers/<name>.py`` with ``config`` as JSON on stdin; return its JSON answer.

    ``fake_vllm`` puts stubs/vllm on the path (the inference engine, the one part faked).
    A driver that raises fails the calling test with the framework's traceback.
    """
    if not (FRAMEWORKS / "openrlhf").is_dir():
        raise RuntimeError(f"{FRAMEWORKS} is missing: run `make install` (or `make frameworks`)")
    path = [str(ROOT), str(FRAMEWORKS), *([str(STUBS)] if fake_vllm else [])]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(path), "RAY_DEDUP_LOGS": "0"}
    env.update({str(k): str(v) for k, v in config.get("env", {}).items()})
    process = subprocess.run(
        [sys.executable, str(DRIVERS / f"{name}.py")],
        input=json.dumps(config),
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=timeout_s,
    )
    if process.returncode != 0:
        raise AssertionError(f"{name} failed:\n{process.stderr[-6000:]}")
    lines = process.stdout.strip().splitlines()
    return json.loads(lines[-1])
