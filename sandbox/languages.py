"""The one table of languages: source file, compile step and run step of each.

Commands are argv lists run in the submission's work dir; `{memory_mb}` is replaced by the
per-test memory limit. A compile step runs once per submission; its failure is CE with the
compiler's message. `harness` names the harness that runs function-call and assert tests
(only Python has one); other languages take stdin/stdout tests.
"""

from __future__ import annotations

from dataclasses import dataclass

from sandbox.errors import InvalidSubmissionError


@dataclass(frozen=True)
class Language:
    """How to build and run programs of one language."""

    name: str
    source_file: str
    run: tuple[str, ...]
    compile: tuple[str, ...] | None = None
    harness: str | None = None
    # Messages on stderr that mean "ran out of memory" (the runtime failed an allocation).
    oom_markers: tuple[str, ...] = ()
    # False where the runtime reserves far more address space than it uses (JVM, V8, Go):
    # RLIMIT_AS (the local backend's memory limit) would break it.
    address_space_limit: bool = True


_PYTHON_SYNTAX_CHECK = "import sys; compile(open(sys.argv[1], 'rb').read(), sys.argv[1], 'exec')"

LANGUAGES: dict[str, Language] = {
    language.name: language
    for language in (
        Language(
            name="python",
            source_file="solution.py",
            compile=("python3", "-c", _PYTHON_SYNTAX_CHECK, "solution.py"),
            run=("python3", "solution.py"),
            harness="python",
            oom_markers=("MemoryError",),
        ),
        Language(
            name="c",
            source_file="solution.c",
            compile=("gcc", "-O2", "-std=gnu17", "-pipe", "-o", "solution", "solution.c", "-lm"),
            run=("./solution",),
        ),
        Language(
            name="cpp",
            source_file="solution.cpp",
            compile=("g++", "-O2", "-std=gnu++17", "-pipe", "-o", "solution", "solution.cpp"),
            run=("./solution",),
            oom_markers=("std::bad_alloc",),
        ),
        Language(
            name="java",
            source_file="Main.java",
            compile=(
                "javac",
                "-J-XX:+UseSerialGC",
                "-J-XX:TieredStopAtLevel=1",
                "-J-XX:-UsePerfData",
                "-encoding",
                "UTF-8",
                "Main.java",
            ),
            run=(
                "java",
                "-XX:+UseSerialGC",
                "-XX:-UsePerfData",
                "-Xss64m",
                "-Xmx{memory_mb}m",
                "-cp",
                ".",
                "Main",
            ),
            oom_markers=("java.lang.OutOfMemoryError",),
            address_space_limit=False,
        ),
        Language(
            name="javascript",
            source_file="solution.js",
            compile=("node", "--check", "solution.js"),
            run=("node", "solution.js"),
            oom_markers=("JavaScript heap out of memory",),
            address_space_limit=False,
        ),
        Language(
            name="bash",
            source_file="solution.sh",
            compile=("bash", "-n", "solution.sh"),
            run=("bash", "solution.sh"),
        ),
        Language(
            name="go",
            source_file="solution.go",
            compile=("go", "build", "-o", "solution", "solution.go"),
            run=("./solution",),
            address_space_limit=False,
        ),
        Language(
            name="rust",
            source_file="solution.rs",
            compile=("rustc", "-O", "--edition=2021", "-o", "solution", "solution.rs"),
            run=("./solution",),
        ),
    )
}

ALIASES = {
    "python3": "python",
    "py": "python",
    "c++": "cpp",
    "js": "javascript",
    "node": "javascript",
    "sh": "bash",
    "golang": "go",
    "rs": "rust",
}


def get_language(name: str) -> Language:
    """The table's entry for a language name or alias; InvalidSubmissionError if unknown."""
    key = name.strip().lower()
    language = LANGUAGES.get(ALIASES.get(key, key))
    if language is None:
        known = ", ".join(sorted(LANGUAGES))
        raise InvalidSubmissionError(f"unknown language {name!r}; known: {known}")
    return language


def expand_command(command: tuple[str, ...], *, memory_mb: int) -> list[str]:
    """A command's argv with its placeholders filled in."""
    return [part.replace("{memory_mb}", str(memory_mb)) for part in command]
