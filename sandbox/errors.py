"""The sandbox's own errors, so the package stands alone.

    SandboxError            the sandbox failed (never the program's fault)
    InvalidSubmissionError  the submission cannot be run at all (too large, unknown language…)

A program's failure is a verdict in the result, not an error. A caller that speaks another
error vocabulary (the service) converts these at its boundary.
"""

from __future__ import annotations


class SandboxError(Exception):
    """The sandbox could not run the submission: no daemon, no image, a broken worker…"""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidSubmissionError(Exception):
    """The submission is unusable: no tests, code too large, an unknown language, bad args."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
