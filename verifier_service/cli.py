"""The command line: ``verifier serve`` and ``verifier grade``."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn
from rich.table import Table

from verifier_service.errors import VerifierError
from verifier_service.settings import Settings

_BATCH = 256


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="verifier", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the HTTP service")
    serve.add_argument("--host", help="address to bind (default 127.0.0.1, VERIFIER_HOST)")
    serve.add_argument("--port", type=int, help="port (default 8000, VERIFIER_PORT)")

    grade = commands.add_parser("grade", help="grade a JSONL file of responses")
    grade.add_argument("input", type=Path, help="JSONL: response, reference, optional id")
    grade.add_argument("-o", "--output", type=Path, required=True, help="JSONL of results")
    grade.add_argument("--url", help="grade through a running service instead of in-process")
    grade.add_argument("--api-key", help="API key for --url (or VERIFIER_API_KEY)")
    grade.add_argument(
        "--last-number-fallback",
        action="store_true",
        help="take the last number when a response has no boxed or tagged answer",
    )

    args = parser.parse_args(argv)
    if args.command == "serve":
        return _serve(args.host, args.port)
    return asyncio.run(_grade(args))


def _serve(host: str | None, port: int | None) -> int:
    import uvicorn

    from verifier_service.app import create_app

    overrides = {k: v for k, v in (("host", host), ("port", port)) if v is not None}
    settings = Settings().model_copy(update=overrides)
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        timeout_graceful_shutdown=30,
    )
    return 0


# --- grade -----------------------------------------------------------------------------------


@dataclass
class _Summary:
    total: int = 0
    correct: int = 0
    incorrect: int = 0
    errors: Counter[str] = field(default_factory=Counter)

    def add(self, result: dict[str, Any]) -> None:
        self.total += 1
        if result.get("error"):
            self.errors[result["error"]["code"]] += 1
        elif result.get("correct"):
            self.correct += 1
        else:
            self.incorrect += 1


def _read_items(path: Path) -> Iterator[tuple[dict[str, Any], str | None]]:
    """Yield (record, problem) per line; a bad line is reported, never fatal."""
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                yield {"line": number}, f"line {number} is not JSON: {exc}"
                continue
            if not isinstance(record, dict):
                yield {"line": number}, f"line {number} is not a JSON object"
                continue
            missing = [k for k in ("response", "reference") if not isinstance(record.get(k), str)]
            if missing:
                yield record, f"line {number} lacks string field(s): {', '.join(missing)}"
                continue
            yield record, None


def _batches(path: Path) -> Iterator[list[tuple[dict[str, Any], str | None]]]:
    batch: list[tuple[dict[str, Any], str | None]] = []
    for entry in _read_items(path):
        batch.append(entry)
        if len(batch) == _BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


async def _grade(args: argparse.Namespace) -> int:
    total_lines = sum(1 for line in args.input.open(encoding="utf-8") if line.strip())
    summary = _Summary()
    console = Console(stderr=True)
    started = time.perf_counter()
    progress = Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    )
    with progress, args.output.open("w", encoding="utf-8") as out:
        task = progress.add_task("grading", total=total_lines)
        async for records, results in _graded_batches(args):
            for record, result in zip(records, results, strict=True):
                summary.add(result)
                out.write(json.dumps({**record, **result}, ensure_ascii=False) + "\n")
            progress.advance(task, len(records))
    _print_summary(console, summary, time.perf_counter() - started)
    return 0


async def _graded_batches(
    args: argparse.Namespace,
) -> AsyncIterator[tuple[list[dict[str, Any]], list[dict[str, Any]]]]:
    grade: _LocalGrader | _RemoteGrader = _RemoteGrader(args) if args.url else _LocalGrader(args)
    async with grade as grade_pairs:
        for batch in _batches(args.input):
            pairs = [(r["response"], r["reference"]) for r, problem in batch if problem is None]
            graded = iter(await grade_pairs(pairs) if pairs else [])
            results = [
                next(graded)
                if problem is None
                else {"correct": None, "error": {"code": "invalid_input", "message": problem}}
                for _, problem in batch
            ]
            yield [record for record, _ in batch], results


class _LocalGrader:
    """Grades in this process with the same worker pool, limits and cache as the service."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args

    async def __aenter__(self) -> Any:
        from verifier_service.grading import Grader
        from verifier_service.metrics import Metrics
        from verifier_service.workers import WorkerPool

        settings = Settings()
        self.pool = WorkerPool(workers=settings.workers, memory_mb=settings.worker_memory_mb)
        grader = Grader(settings, self.pool, Metrics())
        config = grader.math_config(self.args.last_number_fallback or None)

        async def one(response: str, reference: str) -> dict[str, Any]:
            try:
                result = await grader.grade_math(response, reference, config)
            except VerifierError as exc:
                return {"correct": None, "error": exc.as_dict()}
            return {
                "correct": result.correct,
                "extracted": result.extracted,
                "reason": result.reason,
                "rule": result.rule,
                "error": None,
            }

        async def grade_pairs(pairs: list[tuple[str, str]]) -> list[dict[str, Any]]:
            return list(await asyncio.gather(*(one(resp, ref) for resp, ref in pairs)))

        return grade_pairs

    async def __aexit__(self, *exc: object) -> None:
        self.pool.close()


class _RemoteGrader:
    """Grades through a running service's /v1/math/verify."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args

    async def __aenter__(self) -> Any:
        import os

        key = self.args.api_key or os.environ.get("VERIFIER_API_KEY")
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        self.client = httpx.AsyncClient(base_url=self.args.url, headers=headers, timeout=600)
        options = {"last_number_fallback": True} if self.args.last_number_fallback else {}

        async def grade_pairs(pairs: list[tuple[str, str]]) -> list[dict[str, Any]]:
            items = [{"response": resp, "reference": ref} for resp, ref in pairs]
            reply = await self.client.post(
                "/v1/math/verify", json={"items": items, "options": options}
            )
            reply.raise_for_status()
            results: list[dict[str, Any]] = reply.json()["results"]
            return results

        return grade_pairs

    async def __aexit__(self, *exc: object) -> None:
        await self.client.aclose()


def _print_summary(console: Console, summary: _Summary, seconds: float) -> None:
    graded = summary.correct + summary.incorrect
    table = Table(title="grading summary")
    table.add_column("measure")
    table.add_column("value", justify="right")
    table.add_row("items", str(summary.total))
    table.add_row("correct", str(summary.correct))
    table.add_row("incorrect", str(summary.incorrect))
    table.add_row("errors", str(sum(summary.errors.values())))
    for code, count in sorted(summary.errors.items()):
        table.add_row(f"  {code}", str(count))
    table.add_row("accuracy (of graded)", f"{summary.correct / graded:.1%}" if graded else "n/a")
    table.add_row("time", f"{seconds:.2f} s")
    table.add_row("items/s", f"{summary.total / seconds:.1f}" if seconds > 0 else "n/a")
    console.print(table)


if __name__ == "__main__":
    sys.exit(main())
