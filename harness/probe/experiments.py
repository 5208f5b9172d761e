"""The probe's experiments as data: the arms (what to send: settings, seeds, delivery, batching) and the
experiments that compare them (which setting, what is tested, which verdict rule). Pure: no I/O; the
runner turns arms into trials and verdicts.py judges what came back.

Every arm asks the same question (an arithmetic item whose answer, 391, is written in most replies) with
`maxTokens` capped at BASE_MAX_TOKENS, so the whole probe costs a few cents on Runware's prices. Arms
sharing seeds with the reference arm are paired: a setting a service drops gives the very text of the
reference arm for the same seed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from harness.capability import ModelCard

PROMPT = "What is 17 * 23?"
STOP_SEQUENCE = "391"  # the answer, which most replies to PROMPT write
REPLY_PREFIX = "Noted:"
SYSTEM_PROMPT = f'Begin your reply with "{REPLY_PREFIX}" and then answer.'
BASE_MAX_TOKENS = 256
CAPPED_MAX_TOKENS = 16
NUMBER_RESULTS = 3
BATCH_SIZE = 3
DEFAULT_SAMPLES = 6
FIRST_SEED = 1000
DEFAULT_MAX_COST_USD = 0.10

Kind = Literal[
    "determinism",
    "diversity",
    "wording",
    "max_tokens",
    "stop",
    "number_results",
    "thinking",
    "system_prompt",
    "usage",
    "reasoning_tokens",
    "cost_present",
    "cost_matches",
]
Protocol = Literal["runware", "openai"]


@dataclass(frozen=True, slots=True)
class Arm:
    """One group of requests: `settings` on top of the base settings, one trial per seed."""

    name: str
    settings: dict[str, Any] = field(default_factory=dict)
    seeds: tuple[int, ...] = ()
    delivery: str | None = None  # None: the target's own
    batch_size: int = 1  # trials per request (Runware sync/async only)
    number_results: int = 1
    system_prompt: str | None = None


@dataclass(frozen=True, slots=True)
class Experiment:
    """A designed comparison: `arms[0]` is the changed arm, `arms[1]` (when there is one) the reference.
    Accounting experiments (usage, cost) look at every arm."""

    id: str
    setting: str
    test: str
    kind: Kind
    arms: tuple[str, ...] = ()
    expect: Literal["less", "more"] = "less"  # changed arm vs reference, for diversity/wording/thinking


@dataclass(frozen=True, slots=True)
class Design:
    arms: dict[str, Arm]
    experiments: tuple[Experiment, ...]
    samples: int

    def settings_of(self, arm: Arm) -> dict[str, Any]:
        """What the arm sends: the base settings with its own on top."""
        return {"maxTokens": BASE_MAX_TOKENS, **arm.settings}


def _default(card: ModelCard, name: str) -> str:
    spec = card.settings.get(name)
    if spec is None or spec.default is None:
        return "unset"
    return f"default {spec.default}"


def design_probe(card: ModelCard, protocol: Protocol, target_delivery: str, *, samples: int) -> Design:
    """The arms and experiments for a target speaking `protocol` whose card is `card`.

    Experiments whose setting the card does not have are left out (the runner reports them)."""
    seeds = tuple(FIRST_SEED + i for i in range(samples))
    few = seeds[: min(2, samples)]
    arms: dict[str, Arm] = {}

    def arm(name: str, **kwargs: Any) -> str:
        kwargs.setdefault("seeds", seeds)
        arms[name] = Arm(name, **kwargs)
        return name

    ref = arm("reference")
    deliveries = ["sync", "stream", "async"] if protocol == "runware" else ["sync", "stream"]
    determinism = [ref]
    for delivery in deliveries:
        if delivery != target_delivery:
            determinism.append(arm(f"delivery-{delivery}", seeds=few, delivery=delivery))
    if protocol == "runware":
        determinism.append(
            arm("batch", seeds=(FIRST_SEED,) * BATCH_SIZE, delivery="sync", batch_size=BATCH_SIZE)
        )
    channels = "sync, stream, async and batch positions" if protocol == "runware" else "sync and stream"
    experiments: list[Experiment] = [
        Experiment(
            "seed",
            "seed",
            f"same seed, same text ({channels}); different seeds, different texts",
            "determinism",
            tuple(determinism),
        )
    ]

    def diversity(setting: str, value: Any, ref_arm: str, test: str, kind: Kind = "diversity") -> None:
        name = arm(f"{setting}={value}", settings={setting: value})
        expect: Literal["less", "more"] = "more" if kind == "wording" else "less"
        experiments.append(Experiment(name, setting, test, kind, (name, ref_arm), expect))

    if "temperature" in card.settings:
        diversity(
            "temperature",
            0,
            ref,
            f"temperature 0 vs {_default(card, 'temperature')}: one text across seeds",
        )
        high = arm("temperature=1.5", settings={"temperature": 1.5})
        diversity("temperature", 0.1, high, "temperature 0.1 vs 1.5: distinct texts across seeds")
    if "topK" in card.settings:
        diversity("topK", 1, ref, f"topK 1 vs {_default(card, 'topK')}: distinct texts across seeds")
    if "topP" in card.settings:
        diversity("topP", 0.05, ref, f"topP 0.05 vs {_default(card, 'topP')}: distinct texts across seeds")
    if "minP" in card.settings:
        diversity("minP", 0.9, ref, f"minP 0.9 vs {_default(card, 'minP')}: distinct texts across seeds")
    for name, value in (("presencePenalty", 1.5), ("frequencyPenalty", 1.5), ("repetitionPenalty", 1.8)):
        if name in card.settings:
            diversity(
                name,
                value,
                ref,
                f"{name} {value} vs {_default(card, name)}: distinct-word ratio of each output",
                "wording",
            )
    if "maxTokens" in card.settings:
        capped = arm(
            f"maxTokens={CAPPED_MAX_TOKENS}",
            settings={"maxTokens": CAPPED_MAX_TOKENS},
            seeds=seeds[: min(3, samples)],
        )
        experiments.append(
            Experiment(
                capped,
                "maxTokens",
                f"maxTokens {CAPPED_MAX_TOKENS} vs {BASE_MAX_TOKENS}: finishReason length, usage <= cap",
                "max_tokens",
                (capped, ref),
            )
        )
    if "stopSequences" in card.settings:
        stop = arm("stopSequences", settings={"stopSequences": [STOP_SEQUENCE]})
        experiments.append(
            Experiment(
                stop,
                "stopSequences",
                f'stop at "{STOP_SEQUENCE}" vs none: the text stops before it',
                "stop",
                (stop, ref),
            )
        )
    several = arm(
        f"numberResults={NUMBER_RESULTS}",
        seeds=tuple(FIRST_SEED + 500 + i for i in range(2)),
        delivery="sync",
        number_results=NUMBER_RESULTS,
    )
    experiments.append(
        Experiment(
            several,
            "numberResults",
            f"numberResults {NUMBER_RESULTS}: that many distinct results per task",
            "number_results",
            (several,),
        )
    )
    if "thinkingLevel" in card.settings:
        low = arm("thinkingLevel=low", settings={"thinkingLevel": "low"})
        experiments.append(
            Experiment(
                low,
                "thinkingLevel",
                f"thinkingLevel low vs {_default(card, 'thinkingLevel')}: reasoning tokens and latency",
                "thinking",
                (low, ref),
            )
        )
    if "systemPrompt" in card.settings or protocol == "openai":
        system = arm("systemPrompt", system_prompt=SYSTEM_PROMPT)
        experiments.append(
            Experiment(
                system,
                "systemPrompt",
                f"instruction '{SYSTEM_PROMPT}' vs none: replies begin with {REPLY_PREFIX}",
                "system_prompt",
                (system, ref),
            )
        )
    everything = tuple(arms)
    experiments += [
        Experiment("usage", "includeUsage", "usage reported on every task", "usage", everything),
        Experiment(
            "reasoning-tokens",
            "includeUsage",
            "reasoning tokens counted (0 without reasoning, within completion tokens)",
            "reasoning_tokens",
            everything,
        ),
        Experiment("cost", "includeCost", "cost reported on every task", "cost_present", everything),
        Experiment(
            "cost-table",
            "includeCost",
            "cost = usage x price table (and the per-token prices it implies)",
            "cost_matches",
            everything,
        ),
    ]
    return Design(arms, tuple(experiments), samples)


def wire_name(setting: str, protocol: Protocol, reasoning_switch: Mapping[str, Any] | None) -> str:
    """How `setting` is sent under `protocol` (shown beside each verdict)."""
    if protocol == "runware":
        if setting in ("seed", "numberResults", "includeUsage", "includeCost"):
            return setting
        return f"settings.{setting}"
    from harness.providers.openai_compat import SETTING_NAMES

    special = {
        "seed": "seed",
        "numberResults": "n",
        "systemPrompt": "messages[role=system]",
        "includeUsage": "usage (stream_options.include_usage)",
        "includeCost": "(no cost field)",
    }
    if setting == "thinkingLevel":
        if not reasoning_switch:
            return "(not mapped: the target has no reasoning_switch)"
        return "reasoning_switch: " + ", ".join(f"{k}={v}" for k, v in reasoning_switch.items())
    return special.get(setting) or SETTING_NAMES.get(setting, setting)
