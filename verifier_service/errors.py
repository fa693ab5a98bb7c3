"""The one error hierarchy of the project.

    VerifierError               code               meaning
    ├── InvalidInputError       invalid_input      the item is unusable (too large, fields)
    ├── InvalidReferenceError   invalid_reference  the reference cannot be parsed
    ├── GradingTimeoutError     timeout            grading ran past its limit; worker killed
    │   └── DeadlineExceededError   timeout           the request's deadline came first
    ├── GradingResourceError    resource_limit     grading hit its memory cap; worker replaced
    ├── WorkerCrashedError      worker_crashed     the grading worker died for another reason
    ├── SandboxError            sandbox_error      the sandbox failed (never the program's)
    └── JudgeError              judge_error        the judge failed or is not configured
        ├── JudgeUnparseableError   judge_unparseable     no strict verdict in the reply
        └── JudgeNotConfiguredError judge_not_configured  the server has no judge
    ServiceOverloadedError      overloaded         (a whole request) too many items queued: 429

Outcomes (a wrong answer, a refused prediction) are values in results, not errors. Errors are
per item: they are converted to ``{"code", "message"}`` at the HTTP boundary and never fail a
batch.
"""

from __future__ import annotations


class VerifierError(Exception):
    """Base of every error the service reports for an item or a request."""

    code = "internal_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def as_dict(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message}


class InvalidInputError(VerifierError):
    code = "invalid_input"


class InvalidReferenceError(VerifierError):
    code = "invalid_reference"


class GradingTimeoutError(VerifierError):
    code = "timeout"


class DeadlineExceededError(GradingTimeoutError):
    """The request's ``deadline_s`` passed before this item was graded; its work was stopped."""


class GradingResourceError(VerifierError):
    code = "resource_limit"


class WorkerCrashedError(VerifierError):
    code = "worker_crashed"


class SandboxError(VerifierError):
    code = "sandbox_error"


class JudgeError(VerifierError):
    code = "judge_error"


class JudgeUnparseableError(JudgeError):
    code = "judge_unparseable"


class JudgeNotConfiguredError(JudgeError):
    code = "judge_not_configured"


class ServiceOverloadedError(VerifierError):
    """A request-level refusal: the grading queue is full. Answered with 429 + Retry-After."""

    code = "overloaded"
