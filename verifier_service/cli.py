"""The command line: ``verifier serve | grade | eval | filter | check | audit``."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
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

from verifier_service.check import add_check_parser, run_check
from verifier_service.errors import VerifierError
from verifier_service.rollout_audit import add_audit_parser, run_audit
from verifier_service.settings import Settings

_BATCH = 256


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="verifier", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the HTTP service")
    serve.add_argument("--host", help="address to bind (default 127.0.0.1, VERIFIER_HOST)")
    serve.add_argument("--port", type=int, help="port (default 8000, VERIFIER_PORT)")
    serve.add_argument(
        "--ray",
        nargs="?",
        const="local",
        metavar="ADDRESS",
        help="run as a Ray Serve application: no ADDRESS starts a local Ray instance; 'auto' "
        "or ray://HOST:PORT joins an existing cluster (needs the [ray] extra)",
    )
    serve.add_argument(
        "--replicas", type=_positive_int, default=1, help="with --ray: replicas (default 1)"
    )
    serve.add_argument(
        "--max-replicas",
        type=_positive_int,
        help="with --ray: autoscale between --replicas and this on ongoing requests",
    )

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

    evaluate = commands.add_parser("eval", help="pass@1, pass@k and cons@k of sampled responses")
    evaluate.add_argument(
        "input", type=Path, help="JSONL: prompt_id (or id, prompt), response, reference"
    )
    evaluate.add_argument(
        "-k",
        dest="ks",
        metavar="K",
        type=_positive_int,
        nargs="+",
        action="extend",
        default=[],
        help="also report unbiased pass@K (several values or repeated -k)",
    )
    evaluate.add_argument("--json", type=Path, help="write the summary (overall and per prompt)")
    _add_grading_arguments(evaluate)

    sift = commands.add_parser("filter", help="rejection sampling: keep correct, readable samples")
    sift.add_argument("input", type=Path, help="JSONL: response, reference, any other fields")
    sift.add_argument("-o", "--output", type=Path, required=True, help="JSONL of kept lines")
    sift.add_argument("--dropped", type=Path, help="JSONL of dropped lines with their reasons")
    sift.add_argument("--target-language", help="language of the reasoning (default en)")
    sift.add_argument(
        "--min-language-score", type=float, help="lowest language consistency kept (default 0.95)"
    )
    sift.add_argument(
        "--max-paragraph-chars", type=int, help="longest paragraph kept (default 2000, 0: off)"
    )
    sift.add_argument(
        "--allow-code-in-reasoning", action="store_true", help="keep code blocks inside <think>"
    )
    sift.add_argument(
        "--best-of-n",
        action="store_true",
        help="general data: keep the best answer per prompt (JSONL: prompt, response, optional "
        "prompt_id), chosen by the service's /v1/preference; needs --url",
    )
    _add_grading_arguments(sift)

    add_check_parser(commands)
    add_audit_parser(commands)

    args = parser.parse_args(argv)
    if args.command == "serve" and args.ray is not None:
        from verifier_service.ray_cli import serve_on_ray

        settings = _serve_settings(args.host, args.port)
        if settings is None:
            return 2
        return serve_on_ray(
            settings, args.ray, replicas=args.replicas, max_replicas=args.max_replicas
        )
    if args.command == "serve":
        return _serve(args.host, args.port)
    if args.command == "check":
        return run_check(args)
    if args.command == "audit":
        return run_audit(args)
    if args.command == "eval":
        return _eval(args)
    if args.command == "filter":
        return _filter(args)
    return asyncio.run(_grade(args))


def _serve_settings(host: str | None, port: int | None) -> Settings | None:
    """The settings to serve with, or None (said why) when serving them would be unsafe."""
    from verifier_service.logs import configure_logging

    overrides = {k: v for k, v in (("host", host), ("port", port)) if v is not None}
    settings = Settings().model_copy(update=overrides)
    configure_logging(settings.log_level)
    no_keys = not settings.api_keys.strip() and settings.api_keys_file is None
    if not settings.binds_loopback and no_keys and not settings.allow_unauthenticated:
        print(
            f"verifier: refusing to serve on {settings.host} without API keys: anyone who can "
            "reach it could use it. Set VERIFIER_API_KEYS or VERIFIER_API_KEYS_FILE, or "
            "VERIFIER_ALLOW_UNAUTHENTICATED=true if the network is trusted.",
            file=sys.stderr,
        )
        return None
    return settings


def _serve(host: str | None, port: int | None) -> int:
    import uvicorn

    from verifier_service.app import create_app

    settings = _serve_settings(host, port)
    if settings is None:
        return 2
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_config=None,  # configure_logging has set up JSON lines
        access_log=False,  # the app logs each request itself, with its request id
        timeout_graceful_shutdown=30,
        # Trainers keep connections open between steps; a short keep-alive makes the server
        # close a connection just as a client reuses it (a reset the client sees as an error).
        timeout_keep_alive=75,
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
        self.pool = WorkerPool(
            workers=settings.workers,
            memory_mb=settings.worker_memory_mb,
            cache_bytes=settings.worker_cache_bytes,
        )
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


# --- eval and filter -------------------------------------------------------------------------


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is not a positive integer")
    return value


def _add_grading_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--url", help="grade through a running service instead of in-process")
    parser.add_argument("--api-key", help="API key for --url (or VERIFIER_API_KEY)")
    parser.add_argument(
        "--last-number-fallback",
        action="store_true",
        help="take the last number when a response has no boxed or tagged answer",
    )


def _eval(args: argparse.Namespace) -> int:
    from verifier_service import evaluation

    console = Console(stderr=True)
    if not args.input.is_file():
        console.print(f"[red]{args.input}: no such file")
        return 2
    loaded = evaluation.load_samples(args.input)
    evaluation.print_invalid_lines(console, loaded.invalid)
    if not loaded.samples:
        console.print(f"[red]{args.input}: no usable samples")
        return 1

    async def run(hook: Any) -> list[evaluation.PromptResult]:
        async with _RemoteGrader(args) if args.url else _LocalGrader(args) as grade_pairs:
            return await evaluation.evaluate_samples(
                loaded.samples,
                grade_pairs,
                ks=args.ks,
                batch_size=_BATCH,
                last_number_fallback=args.last_number_fallback,
                on_progress=hook,
            )

    started = time.perf_counter()
    try:
        with _progress_hook(console) as hook:
            prompts = asyncio.run(run(hook))
    except httpx.HTTPError as exc:
        console.print(f"[red]the service at {args.url} failed: {exc}")
        return 1
    report = evaluation.EvalReport(
        tuple(prompts), loaded.invalid, tuple(args.ks), time.perf_counter() - started
    )
    console.print(evaluation.report_table(report))
    if args.json:
        text = json.dumps(evaluation.report_dict(report), ensure_ascii=False, indent=2)
        args.json.write_text(text + "\n", encoding="utf-8")
    return 0


def _filter(args: argparse.Namespace) -> int:
    from verifier_service import evaluation, filtering

    console = Console(stderr=True)
    if not args.input.is_file():
        console.print(f"[red]{args.input}: no such file")
        return 2
    if args.best_of_n:
        return _best_of_n(args, console)
    given = {
        "target_language": args.target_language,
        "min_language_score": args.min_language_score,
        "max_paragraph_chars": args.max_paragraph_chars,
    }
    settings = {name: value for name, value in given.items() if value is not None}
    if args.max_paragraph_chars == 0:
        settings["max_paragraph_chars"] = None
    try:
        options = filtering.FilterOptions(
            **settings, allow_code_in_reasoning=args.allow_code_in_reasoning
        )
    except VerifierError as exc:
        console.print(f"[red]{exc.message}")
        return 2
    if not filtering.count_lines(args.input):
        console.print(f"[red]{args.input}: no samples (the file is empty)")
        return 1

    async def run(hook: Any, kept: Any, dropped: Any) -> filtering.FilterReport:
        async with _RemoteGrader(args) if args.url else _LocalGrader(args) as grade_pairs:
            return await filtering.filter_file(
                args.input, kept, dropped, grade_pairs, options, batch_size=_BATCH, on_progress=hook
            )

    with contextlib.ExitStack() as files:
        kept, dropped = _open_outputs(args, files)
        try:
            with _progress_hook(console) as hook:
                report = asyncio.run(run(hook, kept, dropped))
        except httpx.HTTPError as exc:
            console.print(f"[red]the service at {args.url} failed: {exc}")
            return 1
    evaluation.print_invalid_lines(console, report.invalid)
    console.print(filtering.report_table(report))
    return 0 if report.lines > len(report.invalid) else 1


def _open_outputs(args: argparse.Namespace, files: contextlib.ExitStack) -> tuple[Any, Any]:
    """The kept-lines file, and the dropped-lines file when ``--dropped`` names one."""
    kept = files.enter_context(args.output.open("w", encoding="utf-8"))
    if args.dropped is None:
        return kept, None
    return kept, files.enter_context(args.dropped.open("w", encoding="utf-8"))


def _best_of_n(args: argparse.Namespace, console: Console) -> int:
    import os

    from verifier_service import best_of_n, evaluation

    if not args.url:
        console.print("[red]--best-of-n compares answers through a service: give --url")
        return 2
    key = args.api_key or os.environ.get("VERIFIER_API_KEY")
    headers = {"Authorization": f"Bearer {key}"} if key else {}

    async def run(kept: Any, dropped: Any) -> best_of_n.BestOfNReport:
        async with httpx.AsyncClient(base_url=args.url, headers=headers, timeout=600) as client:

            async def compare(pairs: list[tuple[str, str, str]]) -> list[dict[str, Any]]:
                items = [{"prompt": p, "responses": [a, b]} for p, a, b in pairs]
                reply = await client.post("/v1/preference", json={"items": items})
                reply.raise_for_status()
                results: list[dict[str, Any]] = reply.json()["results"]
                return results

            return await best_of_n.best_of_n_file(args.input, kept, dropped, compare)

    with contextlib.ExitStack() as files:
        kept, dropped = _open_outputs(args, files)
        try:
            report = asyncio.run(run(kept, dropped))
        except httpx.HTTPError as exc:
            console.print(f"[red]the service at {args.url} failed: {exc}")
            return 1
    evaluation.print_invalid_lines(console, report.invalid)
    console.print(
        f"best-of-n: {report.lines} lines, {report.prompts} prompts, kept {report.kept}, "
        f"{report.comparisons} comparisons"
    )
    return 0 if report.prompts else 1


@contextlib.contextmanager
def _progress_hook(console: Console) -> Iterator[Any]:
    """A rich progress bar per stage, fed by (stage, completed, total) calls."""
    progress = Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    )
    tasks: dict[str, Any] = {}

    def hook(stage: str, completed: int, total: int) -> None:
        if stage not in tasks:
            tasks[stage] = progress.add_task(stage, total=total)
        progress.update(tasks[stage], completed=completed, total=total)

    with progress:
        yield hook


if __name__ == "__main__":
    sys.exit(main())
