"""pydantic models of the files users write: targets (configs/targets/*.yaml) and the `run:` section of
a suite. Every model is frozen with extra="forbid", so a typo fails with its field path, and every field
is described, so `harness schema` can export a JSON Schema for editors.

Suite, data set, prompt, grid and scorer models are added beside these by the suite layer.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class _Config(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


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
    max_trial_s: float = Field(default=900.0, gt=0, description="Cap on a trial's total time across attempts.")
    honor_retry_after: bool = Field(default=True, description="Wait what a Retry-After header says.")


class TargetConfig(_Config):
    """Where to send requests: configs/targets/NAME.yaml."""

    name: str = Field(description="Name used in cell ids and records (defaults to the file name).")
    provider: ProviderName = Field(description="Wire protocol: runware (textInference), openai (chat completions), simulator (embedded Runware simulator).")
    endpoint: str | None = Field(default=None, description="URL: Runware's https://api.runware.ai/v1, or an OpenAI-compatible base URL ending in /v1. Not used for provider=simulator.")
    model: str = Field(description="Model id sent to the service, e.g. alibaba:qwen@3.5-397b.")
    capability: str | None = Field(default=None, description="Capability card under configs/models/ (name or path) used to validate settings; found by model id when omitted.")
    api_key_env: str | None = Field(default=None, description="Name of the environment variable holding the API key. Never the key itself.")
    delivery: Delivery = Field(default="sync", description="Runware deliveryMethod; for openai, stream or not.")
    batch_size: int = Field(default=1, ge=1, le=64, description="Tasks per POST (Runware only).")
    max_concurrency: int | None = Field(default=None, ge=1, description="Upper bound on in-flight requests for this target, whatever the suite asks.")
    timeouts: TimeoutConfig = Field(default_factory=TimeoutConfig, description="Per-attempt timeouts.")
    prices: PriceConfig | None = Field(default=None, description="Price table for this target's model; falls back to configs/prices.yaml.")
    include_cost: bool = Field(default=True, description="Ask the service to report cost (Runware includeCost).")
    reasoning_switch: dict[str, dict[str, object]] | None = Field(
        default=None,
        description="openai provider: extra body fields to send per thinkingLevel value, e.g. {low: {chat_template_kwargs: {enable_thinking: false}}}.",
    )
    poll_initial_s: float = Field(default=1.0, gt=0, description="async delivery: first getResponse poll after the ack.")
    poll_max_s: float = Field(default=10.0, gt=0, description="async delivery: cap on the poll interval (x1.5 back-off).")
    simulator: dict[str, str] | None = Field(
        default=None, description="provider=simulator: options for the embedded simulator (latency, faults, seed, skill)."
    )


class RunConfig(_Config):
    """How to send: the `run:` section of a suite (CLI flags override it)."""

    concurrency: int = Field(default=16, ge=1, le=4096, description="Closed loop: in-flight requests.")
    rate_rps: float | None = Field(default=None, gt=0, description="Open loop: arrivals per second (then concurrency caps in-flight requests).")
    arrival: Literal["constant", "poisson"] = Field(default="constant", description="Open-loop arrival process.")
    arrival_seed: int = Field(default=0, description="Seed of the Poisson arrival schedule.")
    adaptive_concurrency: bool = Field(default=True, description="Shrink the in-flight limit on 429s, grow it back on clean stretches (AIMD).")
    max_cost_usd: float | None = Field(default=None, gt=0, description="Stop dispatching before this spend would be exceeded.")
    retries: RetryConfig = Field(default_factory=RetryConfig, description="Retry policy.")
    circuit_breaker_window: int = Field(default=50, ge=5, description="Finished trials the circuit breaker looks at.")
    circuit_breaker_error_rate: float = Field(default=0.9, gt=0, le=1, description="Error share of that window that stops the run (exit 3).")
    delivery: Delivery | None = Field(default=None, description="Overrides the target's delivery method.")
    timeout_s: float | None = Field(default=None, gt=0, description="Overrides the target's total per-attempt timeout.")


class ScorerConfig(_Config):
    """One scorer of a suite: `- numeric` or `- {name: numeric, options: {tolerance: 0.01}}`."""

    name: str = Field(description="Registered scorer: exact, contains, regex, numeric, choice, f1, json, judge, or a dotted path 'pkg.module:function'.")
    options: dict[str, object] = Field(default_factory=dict, description="Keyword options of the scorer factory.")
    metric: str | None = Field(default=None, description="Name of the metric in reports (defaults to the scorer name).")


ThresholdOn = Literal["point", "ci_low", "ci_high"]
ThresholdScope = Literal["each_cell", "best_cell", "overall"]


class ThresholdConfig(_Config):
    """A pass/fail rule evaluated at the end of a run: `accuracy >= 0.8` or the long form."""

    metric: str = Field(description="accuracy, score:<scorer>, pass@k, error_rate, p50_latency_s, p95_latency_s, p99_latency_s, p50_ttft_s, p95_ttft_s, cost_per_correct_usd, cost_per_trial_usd, total_cost_usd.")
    op: Literal[">=", "<=", ">", "<"] = Field(description="Comparison.")
    value: float = Field(description="Bound.")
    on: ThresholdOn = Field(default="point", description="Compare the point estimate, or a bound of its 95% CI.")
    scope: ThresholdScope = Field(default="each_cell", description="Every cell must pass, the best cell must pass, or the pooled run.")


class GateMetricConfig(_Config):
    """Per-metric regression tolerance for `harness compare`."""

    tolerance: float | None = Field(default=None, ge=0, description="Largest allowed drop (absolute) before it is a regression.")
    ratio: float | None = Field(default=None, gt=1, description="Largest allowed ratio (current/baseline) for latency and cost metrics.")


class GateConfig(_Config):
    """The `gate:` section: what `harness compare` counts as a regression."""

    tolerance: float = Field(default=0.02, ge=0, description="Quality: a regression is a drop whose whole 95% CI lies beyond this (absolute).")
    latency_ratio: float = Field(default=1.2, gt=1, description="p50/p95 latency: regression when the ratio's CI lies above this.")
    cost_ratio: float = Field(default=1.2, gt=1, description="Cost per trial: regression when the ratio's CI lies above this.")
    max_error_rate: float = Field(default=0.05, ge=0, le=1, description="A run with more errors than this is incomplete (exit 3).")
    alpha: float = Field(default=0.05, gt=0, lt=1, description="Significance level (Holm-corrected McNemar).")
    metrics: dict[str, GateMetricConfig] = Field(default_factory=dict, description="Per-metric overrides.")
    cells: dict[str, GateMetricConfig] = Field(default_factory=dict, description="Per-cell overrides, keyed by cell id.")
