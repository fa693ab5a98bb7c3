"""Pydantic models of the HTTP contract (v1): the one definition of the wire format.

Per-item problems (an oversized response, an unparsable reference, a timeout) are reported in
the item's ``error`` and never fail the batch; only a request whose shape is wrong gets 422.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from verifier_service.version import GRADER_VERSION

FormatStyleName = Literal["r1_zero", "think", "think_open"]
TaskName = Literal["math", "code", "judge", "general", "none"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


# A request may ask for its own share of items to be audited (docs/audit.md).
AuditRate = Annotated[
    float | None,
    Field(
        None,
        ge=0,
        le=1,
        description="Share of this request's items graded again by the audit (overrides "
        "VERIFIER_AUDIT_RATE); the audit never changes a result.",
    ),
]


class BatchRequest(_Model):
    """What every batch request may add: how long it may take and how urgent it is."""

    deadline_s: float | None = Field(
        None,
        gt=0,
        description="Seconds this request may take (default VERIFIER_DEFAULT_DEADLINE_S, at "
        "most VERIFIER_MAX_DEADLINE_S). At the deadline the graded items are returned and the "
        "others get a 'timeout' error; their work is stopped.",
    )
    priority: int = Field(
        0,
        ge=-10,
        le=10,
        description="Higher is served first (e.g. 1 for evaluation, 0 for training); requests "
        "of one priority share the workers item by item.",
    )


class ItemError(_Model):
    """Why an item could not be graded: a stable machine code and a sentence."""

    code: str = Field(description="e.g. invalid_input, invalid_reference, timeout")
    message: str


# --- /v1/math/verify -------------------------------------------------------------------------


class MathOptions(_Model):
    last_number_fallback: bool | None = Field(
        None, description="Take the last number when no boxed/tagged answer is found."
    )


class MathItem(_Model):
    response: str = Field(description="The model's full output.")
    reference: str = Field(description="The ground-truth answer.")


class MathVerifyRequest(BatchRequest):
    items: list[MathItem]
    options: MathOptions = Field(default_factory=MathOptions)
    audit_rate: AuditRate = None


class MathVerifyResult(_Model):
    correct: bool | None = None
    extracted: str | None = None
    reason: str | None = None
    rule: str | None = Field(None, description="The rule that decided, machine-readable.")
    parsed_prediction: str | None = None
    parsed_reference: str | None = None
    error: ItemError | None = None


class MathVerifyResponse(_Model):
    results: list[MathVerifyResult]
    grader_version: str = GRADER_VERSION


# --- /v1/code/run ---------------------------------------------------------------------------


class CodeTest(_Model):
    """One test: {stdin, expected_stdout}, {fn_name, args, expected} or {test_code}."""

    stdin: str | None = None
    expected_stdout: str | None = None
    fn_name: str | None = None
    args: list[Any] | None = None
    expected: Any = None
    test_code: str | None = None


class CodeLimits(_Model):
    time_s: float = Field(2.0, description="CPU seconds per test.")
    memory_mb: int = Field(256, description="Memory per test.")


class CodeItem(_Model):
    language: str = Field(description="python, c, cpp, java, javascript, bash, go, rust.")
    code: str | None = Field(None, description="The program; or give `response`.")
    response: str | None = Field(
        None, description="A model's output: the program is its last fenced block in `language`."
    )
    tests: list[CodeTest]
    limits: CodeLimits = Field(default_factory=CodeLimits)
    stop_on_first_failure: bool = Field(
        True,
        description="Stop at the first failing test (its verdict decides); false runs them all "
        "(within the item's wall budget, see docs/sandbox.md).",
    )


class CodeRunRequest(BatchRequest):
    items: list[CodeItem]
    audit_rate: AuditRate = None


class CodeTestResult(_Model):
    verdict: str
    time_s: float
    stdout: str
    stderr: str
    reason: str = ""


class CodeRunResult(_Model):
    verdict: str | None = Field(None, description="AC, WA, TLE, MLE, OLE, RE, CE (or SE).")
    passed: int | None = None
    total: int | None = None
    score: float | None = None
    tests: list[CodeTestResult] = Field(default_factory=list)
    compile_output: str | None = None
    reason: str | None = None
    extracted: str | None = Field(None, description="The program taken from `response`.")
    error: ItemError | None = None


class CodeRunResponse(_Model):
    results: list[CodeRunResult]
    grader_version: str = GRADER_VERSION


# --- /v1/rewards -----------------------------------------------------------------------------


class RewardItem(_Model):
    id: str | None = None
    prompt: str = ""
    response: str
    task: TaskName = "math"
    reference: str | None = None
    target_language: str | None = None
    format_style: FormatStyleName | None = Field(
        None, description="Overrides the request's and the server's format style."
    )
    # task "code":
    language: str | None = Field(None, description="Programming language of a code item.")
    tests: list[CodeTest] | None = None
    limits: CodeLimits = Field(default_factory=CodeLimits)


class RewardsRequest(BatchRequest):
    items: list[RewardItem]
    weights: dict[str, float] | None = Field(
        None, description="Weight per component; missing components weigh 1.0."
    )
    format_style: FormatStyleName | None = None
    options: MathOptions = Field(default_factory=MathOptions)
    code_scoring: Literal["binary", "fraction"] = Field(
        "binary",
        description="binary: 1 when every test passes (stops at the first failure); "
        "fraction: the share of tests passed.",
    )
    audit_rate: AuditRate = None


class RewardResult(_Model):
    id: str | None = None
    reward: float | None = None
    components: dict[str, float] = Field(default_factory=dict)
    details: dict[str, Any] = Field(default_factory=dict)
    error: ItemError | None = None


class RewardsResponse(_Model):
    results: list[RewardResult]
    grader_version: str = GRADER_VERSION
    general: dict[str, Any] | None = Field(
        None,
        description="For a batch with general items: how helpfulness went with summary length "
        "(items, mean_chars, correlation, slope_per_1k_chars).",
    )


# --- /get_reward (OpenRLHF's remote reward protocol) ----------------------------------------


class OpenRLHFRequest(BaseModel):
    # OpenRLHF may add fields of its own: accept and ignore them.
    model_config = ConfigDict(extra="ignore")

    query: list[str] = Field(description="Prompt + response, one per sample.")
    prompts: list[str] | None = None
    labels: list[str] | None = Field(None, description="Math references, one per sample.")
    deadline_s: float | None = Field(None, gt=0, description="As in the /v1 endpoints.")
    priority: int = Field(0, ge=-10, le=10, description="As in the /v1 endpoints.")


class OpenRLHFResponse(_Model):
    grader_version: str = GRADER_VERSION
    rewards: list[float] = Field(
        description="The weighted sum; VERIFIER_OPENRLHF_FAILURE_REWARD for a failed sample."
    )
    scores: list[float] = Field(description="Accuracy (the reward where accuracy does not apply).")
    extra_logs: dict[str, list[float]] = Field(
        description="accuracy, format, language (0.0 where one does not apply) and failed "
        "(1.0 for a sample that could not be graded), for every sample."
    )
    errors: list[ItemError | None] = Field(
        default_factory=list, description="Per sample: why it could not be graded, if it was not."
    )


# --- /v1/language ---------------------------------------------------------------------------


class LanguageItem(_Model):
    text: str = Field(description="The text to score: its <think> part, or all of it (scope).")
    target: str = Field(description="ISO 639-1 code of the wanted language, e.g. en, zh.")


class LanguageRequest(BatchRequest):
    items: list[LanguageItem]
    scope: Literal["reasoning", "whole"] = Field(
        "reasoning",
        description="reasoning: the <think> part when there is one, else all (R1); whole: all.",
    )


class LanguageResultModel(_Model):
    score: float | None = Field(
        None, description="Share of target-language words; null when the text has no words."
    )
    counts: dict[str, int] = Field(default_factory=dict, description="Words per language.")
    total_words: int | None = None
    reason: str | None = None
    error: ItemError | None = None


class LanguageResponse(_Model):
    results: list[LanguageResultModel]
    grader_version: str = GRADER_VERSION


# --- /v1/judge ------------------------------------------------------------------------------


class JudgeItemModel(_Model):
    question: str = ""
    reference: str
    response: str = Field(description="The model's whole output; only its final answer is judged.")


class JudgeRequest(BatchRequest):
    items: list[JudgeItemModel]
    mode: Literal["judge", "cascade"] | None = Field(
        None, description="Overrides VERIFIER_JUDGE_MODE for this request."
    )


class JudgeResultModel(_Model):
    correct: bool | None = None
    verdict: str | None = None
    raw: str | None = None
    decided_by: str | None = Field(None, description="judge, rules, precheck or none.")
    reason: str | None = None
    deterministic: bool = True
    error: ItemError | None = None


class JudgeResponse(_Model):
    results: list[JudgeResultModel]
    grader_version: str = GRADER_VERSION


# --- health ----------------------------------------------------------------------------------


class Health(_Model):
    status: Literal["ok"] = "ok"


class Readiness(_Model):
    ready: bool
    workers: dict[str, Any]
    cache: dict[str, Any]
    judge: dict[str, Any]
    sandbox: dict[str, Any]
    general: dict[str, Any] = Field(
        default_factory=dict, description="The scorer of each general component."
    )


# --- /v1/preference -------------------------------------------------------------------------


class PreferenceItem(_Model):
    prompt: str = ""
    responses: list[str] = Field(min_length=2, max_length=2, description="The answers A and B.")
    format_style: FormatStyleName | None = Field(
        None, description="Where the summary starts (helpfulness reads only the summary)."
    )


class PreferenceRequest(_Model):
    items: list[PreferenceItem]


class PreferenceVerdict(_Model):
    preferred: Literal["A", "B", "tie"] | None = Field(
        None, description="A, B, or tie (a judge that changed its mind with the order)."
    )
    reason: str | None = None
    values: list[float] | None = Field(None, description="The reward model's scores of A and B.")
    error: ItemError | None = None


class PreferenceResult(_Model):
    components: dict[str, PreferenceVerdict] = Field(default_factory=dict)
    error: ItemError | None = None


class PreferenceResponse(_Model):
    results: list[PreferenceResult]
    grader_version: str = GRADER_VERSION
