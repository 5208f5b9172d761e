"""pydantic models of the files users write: suites (suites/*.yaml) and targets (configs/targets/*.yaml).
Every model is frozen with extra="forbid", so a typo fails with its field path, and every field is
described, so `harness schema` can export a JSON Schema for editors. Shapes only: no file I/O here.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue, field_validator, model_validator

from harness.datasets import DatasetConfig
from harness.errors import ConfigError
from harness.grid import GridConfig
from harness.loadsweep import LoadConfig, SloConfig
from harness.power import PlanConfig
from harness.racing import RacingConfig


class _Config(BaseModel):
    # allow_inf_nan: NaN passes every range check (ge, le) and inf passes every lower bound.
    model_config = ConfigDict(defer_build=True, frozen=True, extra="forbid", allow_inf_nan=False)


ProviderName = Literal["runware", "openai", "simulator"]
Delivery = Literal["sync", "stream", "async"]


class PriceConfig(_Config):
    """USD per million tokens, used when the service reports no cost and for estimates."""

    prompt_per_mtok: float = Field(ge=0, description="USD per 1M prompt (input) tokens.")
    completion_per_mtok: float = Field(ge=0, description="USD per 1M completion (output text) tokens.")
    thinking_per_mtok: float | None = Field(
        default=None, ge=0, description="USD per 1M thinking tokens; defaults to the completion price."
    )
    placeholder: bool = Field(
        default=False, description="True while these are not the provider's real prices (reports say so)."
    )


class TimeoutConfig(_Config):
    """Per-attempt timeouts in seconds."""

    connect_s: float = Field(default=10.0, gt=0, description="TCP/TLS connect timeout.")
    first_byte_s: float = Field(default=120.0, gt=0, description="Time from send to the first response byte.")
    idle_s: float = Field(default=60.0, gt=0, description="Longest silence between two stream chunks.")
    total_s: float = Field(default=600.0, gt=0, description="Whole attempt, connect to last byte.")


class RetryConfig(_Config):
    """Retries for transient failures (429, 5xx, timeouts, cut streams, malformed bodies)."""

    max_attempts: int = Field(default=4, ge=1, le=20, description="Attempts per trial, the first included.")
    base_s: float = Field(default=0.5, ge=0, description="First back-off; doubles per attempt (full jitter).")
    max_backoff_s: float = Field(default=30.0, ge=0, description="Cap on one back-off wait.")
    max_trial_s: float = Field(
        default=900.0, gt=0, description="Cap on a trial's total time across attempts."
    )
    honor_retry_after: bool = Field(default=True, description="Wait what a Retry-After header says.")


class EstimateConfig(_Config):
    """Expected output lengths for the dry-run token and cost estimate (the output is unknown before a run)."""

    completion_tokens: int = Field(
        default=256,
        ge=0,
        description="Expected answer (non-thinking) tokens per result, capped by maxTokens.",
    )
    thinking_tokens: dict[str, int] = Field(
        default_factory=lambda: {"high": 1024, "low": 0},
        description="Expected thinking tokens per result, by thinkingLevel (the card's default level when unset).",
    )


class SimulatorTargetConfig(_Config):
    """Options of the embedded simulator (the same specs as `harness simulator` flags)."""

    latency: str | None = Field(
        default=None, description="Latency spec, e.g. 'ttft=0.4,tps=80,jitter=0.3'; none = instant replies."
    )
    faults: str | None = Field(
        default=None, description="Fault spec, e.g. '429=0.05,500=0.02'; none = no faults."
    )
    capacity: str | None = Field(
        default=None,
        description="Capacity model, e.g. 'slots=4,queue=64': concurrent slots and a FIFO queue, so latency "
        "rises past saturation; none = unlimited. See docs/simulator.md.",
    )
    seed: int = Field(default=0, description="Seed of the simulated model, latencies and faults.")
    skill: str | None = Field(
        default=None, description="Skill curve: a YAML file or an inline spec (accuracy by setting)."
    )
    ignore_settings: list[str] = Field(
        default_factory=list,
        description="Settings (API names, e.g. [minP, topK]) the simulator accepts and validates but "
        "generates as if absent, like a provider that silently drops them (see `harness probe`).",
    )

    @field_validator("capacity")
    @classmethod
    def _check_capacity(cls, value: str | None) -> str | None:
        from harness.simulator.capacity import parse_capacity

        try:
            parse_capacity(value)
        except ConfigError as exc:  # reported by pydantic with the field's path and the file
            raise ValueError(f"{exc.message} (allowed: {exc.allowed})") from None
        return value


class TargetConfig(_Config):
    """Where to send requests: configs/targets/NAME.yaml."""

    name: str = Field(description="Name used in cell ids and records (defaults to the file name).")
    provider: ProviderName = Field(
        description="Wire protocol: runware (textInference), openai (chat completions), simulator (embedded Runware simulator)."
    )
    endpoint: str | None = Field(
        default=None,
        description="URL: Runware's https://api.runware.ai/v1, or an OpenAI-compatible base URL ending in /v1. Not used for provider=simulator.",
    )
    model: str = Field(description="Model id sent to the service, e.g. alibaba:qwen@3.5-397b.")
    capability: str | None = Field(
        default=None,
        description="Capability card under configs/models/ (name or path) used to validate settings; found by model id when omitted.",
    )
    api_key_env: str | None = Field(
        default=None,
        description="Name of the environment variable holding the API key. Never the key itself.",
    )
    delivery: Delivery = Field(
        default="sync", description="Runware deliveryMethod; for openai, stream or not."
    )
    batch_size: int = Field(default=1, ge=1, le=64, description="Tasks per POST (Runware only).")
    max_concurrency: int | None = Field(
        default=None,
        ge=1,
        description="Upper bound on in-flight requests for this target, whatever the suite asks.",
    )
    timeouts: TimeoutConfig = Field(default_factory=TimeoutConfig, description="Per-attempt timeouts.")
    prices: PriceConfig | None = Field(
        default=None, description="Price table for this target's model; falls back to configs/prices.yaml."
    )
    include_cost: bool = Field(
        default=True, description="Ask the service to report cost (Runware includeCost)."
    )
    reasoning_switch: dict[str, dict[str, object]] | None = Field(
        default=None,
        description="openai provider: extra body fields to send per thinkingLevel value, e.g. {low: {chat_template_kwargs: {enable_thinking: false}}}.",
    )
    poll_initial_s: float = Field(
        default=1.0, gt=0, description="async delivery: first getResponse poll after the ack."
    )
    poll_max_s: float = Field(
        default=10.0, gt=0, description="async delivery: cap on the poll interval (x1.5 back-off)."
    )
    estimate: EstimateConfig | None = Field(
        default=None,
        description="Expected output lengths of this target for --dry-run estimates, overriding the suite's "
        "(e.g. the simulator writes much shorter answers than the real model).",
    )
    simulator: SimulatorTargetConfig | None = Field(
        default=None,
        description="provider=simulator: how the embedded simulator behaves (latency, faults, seed, skill).",
    )

    @field_validator("endpoint")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is None:
            return value
        problem = url_problem(value)
        if problem is not None:
            raise ValueError(
                f"{problem}; the endpoint must be an http(s) URL such as https://api.runware.ai/v1"
            )
        return value

    @field_validator("api_key_env", mode="before")
    @classmethod
    def _variable_name(cls, value: object) -> object:
        # The value is never shown: when it is not a variable name it may well be the key itself.
        if value is None:
            return value
        if not isinstance(value, str) or not _ENV_NAME_RE.match(value):
            raise ValueError(
                "must be the name of an environment variable (letters, digits and _), such as RUNWARE_API_KEY; "
                "the value given is not one, so it is not shown here in case it is the key itself"
            )
        if looks_like_key(value):
            raise ValueError(
                "looks like an API key, not the name of the environment variable that holds one "
                "(the value is not shown): put the key in a variable such as RUNWARE_API_KEY and write its name here"
            )
        return value


_ENV_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")


def looks_like_key(name: str) -> bool:
    """A run of 16+ characters mixing letters and digits with no _ between words (a token, not a name
    such as RUNWARE_API_KEY or LOCAL_LLM_API_KEY_2)."""
    return any(
        len(part) >= 16 and any(c.isdigit() for c in part) and any(c.isalpha() for c in part)
        for part in name.split("_")
    )


def url_problem(url: str) -> str | None:
    """Why `url` is not an http(s) URL the harness can send to, or None. Never quotes credentials."""
    from urllib.parse import urlsplit

    if any(c.isspace() for c in url):
        return "the URL contains white space"
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a port that is not a number in 0..65535
    except ValueError:
        return "the URL cannot be parsed (is the port a number?)"
    if not parts.scheme or not url.lower().startswith(f"{parts.scheme}://"):
        return "the URL does not start with http:// or https://"
    if parts.scheme not in ("http", "https"):
        return f"the URL's scheme is {parts.scheme}://, not http:// or https://"
    if parts.username is not None or parts.password is not None:
        return "the URL carries credentials (user:password@), which are not shown; name a key variable in api_key_env"
    if not parts.hostname:
        return "the URL has no host"
    return None


class RunConfig(_Config):
    """How to send: the `run:` section of a suite (CLI flags override it)."""

    concurrency: int = Field(default=16, ge=1, le=4096, description="Closed loop: in-flight requests.")
    rate_rps: float | None = Field(
        default=None,
        gt=0,
        description="Open loop: arrivals per second (then concurrency caps in-flight requests).",
    )
    arrival: Literal["constant", "poisson", "gamma"] = Field(
        default="constant",
        description="Open-loop arrival process: evenly spaced, Poisson, or gamma gaps (see burstiness).",
    )
    burstiness: float = Field(
        default=1.0,
        gt=0,
        description="arrival=gamma: the gaps' shape (1 = Poisson, below 1 burstier, above 1 more even); "
        "the mean gap stays 1/rate.",
    )
    arrival_seed: int = Field(default=0, description="Seed of the Poisson / gamma arrival schedule.")
    adaptive_concurrency: bool = Field(
        default=True,
        description="Shrink the in-flight limit on 429s, grow it back on clean stretches (AIMD).",
    )
    max_cost_usd: float | None = Field(
        default=None, gt=0, description="Stop dispatching before this spend would be exceeded."
    )
    retries: RetryConfig = Field(default_factory=RetryConfig, description="Retry policy.")
    circuit_breaker_window: int = Field(
        default=50, ge=5, description="Finished trials the circuit breaker looks at."
    )
    circuit_breaker_error_rate: float = Field(
        default=0.9, gt=0, le=1, description="Error share of that window that stops the run (exit 3)."
    )
    delivery: Delivery | None = Field(default=None, description="Overrides the target's delivery method.")
    timeout_s: float | None = Field(
        default=None, gt=0, description="Overrides the target's total per-attempt timeout."
    )
    strategy: Literal["grid", "racing"] = Field(
        default="grid",
        description="grid: every cell answers every item; racing: cells significantly worse than the "
        "leader stop receiving items after each look (see run.racing).",
    )
    racing: RacingConfig = Field(
        default_factory=RacingConfig, description="Looks and elimination of run.strategy: racing."
    )


class ScorerConfig(_Config):
    """One scorer of a suite: `- numeric` or `- {name: numeric, options: {tolerance: 0.01}}`."""

    name: str = Field(
        description="Registered scorer: exact, contains, regex, numeric, choice, f1, json, judge, or a dotted path 'pkg.module:function'."
    )
    options: dict[str, object] = Field(
        default_factory=dict, description="Keyword options of the scorer factory."
    )
    metric: str | None = Field(
        default=None, description="Name of the metric in reports (defaults to the scorer name)."
    )

    @model_validator(mode="before")
    @classmethod
    def _from_name(cls, data: Any) -> Any:
        # A bare string is the scorer's name with default options: `scorers: [numeric]`.
        if isinstance(data, str):
            return {"name": data}
        return data


ThresholdOn = Literal["point", "ci_low", "ci_high"]
ThresholdScope = Literal["each_cell", "best_cell", "overall"]


class ThresholdConfig(_Config):
    """A pass/fail rule evaluated at the end of a run: `accuracy >= 0.8` or the long form."""

    metric: str = Field(
        description="accuracy, score:<scorer>, pass@k, error_rate, p50_latency_s, p95_latency_s, p99_latency_s, p50_ttft_s, p95_ttft_s, cost_per_correct_usd, cost_per_trial_usd, total_cost_usd; load sweeps: goodput_rps, max_rate_at_slo."
    )
    op: Literal[">=", "<=", ">", "<"] = Field(description="Comparison.")
    value: float = Field(description="Bound.")
    on: ThresholdOn = Field(
        default="point", description="Compare the point estimate, or a bound of its 95% CI."
    )
    scope: ThresholdScope = Field(
        default="each_cell", description="Every cell must pass, the best cell must pass, or the pooled run."
    )

    @model_validator(mode="before")
    @classmethod
    def _from_text(cls, data: Any) -> Any:
        if isinstance(data, str):
            return parse_threshold(data)
        return data


class GateMetricConfig(_Config):
    """Per-metric regression tolerance for `harness compare`."""

    tolerance: float | None = Field(
        default=None,
        ge=0,
        le=1,
        description="Largest allowed drop (absolute, a share: 0.02 = 2 points) before it is a regression.",
    )
    ratio: float | None = Field(
        default=None,
        gt=1,
        description="Largest allowed ratio (current/baseline) for latency and cost metrics.",
    )


class GateConfig(_Config):
    """The `gate:` section: what `harness compare` counts as a regression."""

    tolerance: float = Field(
        default=0.02,
        ge=0,
        le=1,
        description="Quality: a regression is a drop whose whole 95% CI lies beyond this (absolute share: 0.02 = 2 points).",
    )
    latency_ratio: float = Field(
        default=1.2, gt=1, description="p50/p95 latency: regression when the ratio's CI lies above this."
    )
    cost_ratio: float = Field(
        default=1.2, gt=1, description="Cost per trial: regression when the ratio's CI lies above this."
    )
    latency_min_delta_s: float = Field(
        default=0.05,
        ge=0,
        description="A latency change smaller than this (seconds) is never a regression: below it a loaded CI machine's own scheduling noise dominates.",
    )
    gate_latency: bool = Field(
        default=True, description="Gate latency at all (false: report the ratios, never fail on them)."
    )
    max_error_rate: float = Field(
        default=0.05, ge=0, le=1, description="A run with more errors than this is incomplete (exit 3)."
    )
    alpha: float = Field(default=0.05, gt=0, lt=1, description="Significance level (Holm-corrected McNemar).")
    metrics: dict[str, GateMetricConfig] = Field(default_factory=dict, description="Per-metric overrides.")
    cells: dict[str, GateMetricConfig] = Field(
        default_factory=dict, description="Per-cell overrides, keyed by cell id."
    )


_THRESHOLD_RE = re.compile(
    r"^\s*(?P<metric>[A-Za-z_][\w:@^.\-]*)\s*(?P<op>>=|<=|>|<)\s*(?P<value>[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?)"
    r"(?:\s+on\s+(?P<on>\w+))?(?:\s+in\s+(?P<scope>\w+))?\s*$"
)


def parse_threshold(text: str) -> dict[str, object]:
    """Parse the short form `METRIC OP VALUE [on point|ci_low|ci_high] [in each_cell|best_cell|overall]`."""
    match = _THRESHOLD_RE.match(text)
    if match is None:
        raise ValueError(
            f"cannot read threshold {text!r}: expected 'METRIC OP VALUE [on ci_low] [in best_cell]', "
            "e.g. 'accuracy >= 0.8' (OP is one of >=, <=, >, <)"
        )
    out: dict[str, object] = {"metric": match["metric"], "op": match["op"], "value": float(match["value"])}
    if match["on"]:
        out["on"] = match["on"]
    if match["scope"]:
        out["scope"] = match["scope"]
    return out


class MessageConfig(_Config):
    """One turn of a multi-turn prompt; `content` is a jinja2 template over the row's fields."""

    role: Literal["user", "assistant"] = Field(
        description="user or assistant (the system prompt is `prompt.system`)."
    )
    content: str = Field(
        min_length=1, description="jinja2 template over the row's fields, e.g. '{{ question }}'."
    )


class PromptConfig(_Config):
    """How an item becomes messages: jinja2 (sandboxed, undefined fields are errors) over the row's fields
    (`input`, `target`, `choices`, `letters`, `id` and every column of the row). Few-shot examples
    (drawn by dataset.few_shot) come first, as user/assistant turns."""

    system: str | None = Field(
        default=None,
        description="System prompt template: settings.systemPrompt for Runware, a system message for OpenAI-compatible targets.",
    )
    template: str | None = Field(
        default=None, description="User message template; defaults to '{{ input }}'. Exclusive with messages."
    )
    messages: list[MessageConfig] | None = Field(
        default=None, description="Multi-turn conversation (templates); the last turn must be the user's."
    )
    example_template: str | None = Field(
        default=None,
        description="User turn of each few-shot example (examples come from dataset.few_shot); defaults to the prompt's template.",
    )
    example_answer: str = Field(
        default="{{ target }}", min_length=1, description="Assistant turn of each few-shot example."
    )

    @model_validator(mode="after")
    def _check(self) -> PromptConfig:
        if self.template is not None and self.messages is not None:
            raise ValueError("give either prompt.template or prompt.messages, not both")
        if self.messages is not None:
            if not self.messages:
                raise ValueError("prompt.messages is empty")
            if self.messages[-1].role != "user":
                raise ValueError("the last of prompt.messages must have role user")
        return self

    @property
    def user_template(self) -> str:
        return self.template if self.template is not None else "{{ input }}"


class ReportConfig(_Config):
    """The `report:` section: options of report.html."""

    title: str | None = Field(default=None, description="Report title; defaults to the suite name.")
    max_items: int = Field(default=50, ge=0, le=100000, description="Items shown in the per-item drill-down.")
    baseline_cell: str | None = Field(
        default=None, description="Cell id the other cells are compared against; defaults to the first cell."
    )


class SuiteConfig(_Config):
    """A suite: suites/NAME.yaml."""

    name: str = Field(
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$", description="Short name, used in run directory names."
    )
    description: str = Field(default="", description="What the suite measures.")
    dataset: DatasetConfig = Field(description="The items: a local file or an HF spec, field mapping, limit.")
    prompt: PromptConfig = Field(default_factory=PromptConfig, description="How an item becomes messages.")
    settings: dict[str, JsonValue] = Field(
        default_factory=dict,
        description="Fixed API settings by their API names (temperature, topP, topK, maxTokens, thinkingLevel, "
        "stopSequences, ...), plus seed and numberResults; checked against the model's capability card.",
    )
    grid: GridConfig = Field(default_factory=GridConfig, description="Axes to sweep.")
    repeats: int = Field(
        default=1, ge=1, le=1000, description="Trials per item and cell (each with seed + repeat)."
    )
    scorers: list[ScorerConfig] = Field(
        default_factory=list, description="Scorers; the first one is the primary metric (accuracy)."
    )
    thresholds: list[ThresholdConfig] = Field(
        default_factory=list,
        description="Pass/fail rules checked after the run (exit 1 on failure), e.g. 'accuracy >= 0.8'.",
    )
    gate: GateConfig = Field(default_factory=GateConfig, description="Regression rules of `harness compare`.")
    run: RunConfig = Field(default_factory=RunConfig, description="How to send (CLI flags override it).")
    report: ReportConfig = Field(default_factory=ReportConfig, description="Report options.")
    estimate: EstimateConfig = Field(
        default_factory=EstimateConfig, description="Output lengths for --dry-run estimates."
    )
    plan: PlanConfig = Field(
        default_factory=PlanConfig,
        description="Sample-size planning: assumed accuracy and item correlation, the difference to detect.",
    )
    target: str | None = Field(default=None, description="Target used when --target is not given.")
    load: LoadConfig | None = Field(
        default=None,
        description="Load sweep: load points (concurrencies, rates, or profile: sweep), each its own phase.",
    )
    slo: SloConfig | None = Field(
        default=None,
        description="Service-level objectives of a load sweep, e.g. {ttft_s: 1.0, e2e_s: 10, quantile: 0.95}: "
        "goodput and the highest rate meeting them.",
    )
    max_trials: int = Field(
        default=20000, ge=1, description="Safety limit: a plan with more trials than this needs --yes."
    )

    @field_validator("settings")
    @classmethod
    def _no_special_settings(cls, value: dict[str, JsonValue]) -> dict[str, JsonValue]:
        for key in ("repeats", "target"):
            if key in value:
                raise ValueError(f"settings.{key} is not an API setting: use the top-level `{key}:`")
        return value


def suite_json_schema() -> dict[str, Any]:
    """JSON Schema of suite files as people write them (short forms included)."""
    return _editor_schema(SuiteConfig.model_json_schema())


def target_json_schema() -> dict[str, Any]:
    """JSON Schema of target files."""
    return _editor_schema(TargetConfig.model_json_schema())


def _editor_schema(schema: dict[str, Any]) -> dict[str, Any]:
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    defs = schema.get("$defs", {})
    if "ScorerConfig" in defs:
        defs["ScorerConfig"] = {
            "anyOf": [{"type": "string", "description": "Scorer name."}, defs["ScorerConfig"]]
        }
    if "ThresholdConfig" in defs:
        text = {"type": "string", "pattern": _THRESHOLD_RE.pattern, "description": "e.g. 'accuracy >= 0.8'."}
        defs["ThresholdConfig"] = {"anyOf": [text, defs["ThresholdConfig"]]}
    if "GridConfig" in defs:
        defs["GridConfig"]["additionalProperties"] = {
            "type": "array",
            "minItems": 1,
            "description": "An axis and its values.",
        }
    return schema
