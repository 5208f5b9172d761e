"""The scorer registry: names map lazily to factories (a module is imported only when its scorer is
picked), custom scorers are found by dotted path, and options are checked when a scorer is built, before
any request. Must not score anything itself.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable
from typing import Any, TypeVar, cast

from pydantic import ConfigDict, ValidationError, validate_call

from harness.config import ScorerConfig
from harness.errors import ConfigError, ScoringError
from harness.records import Record, Score
from harness.scoring.base import NO_CONTEXT, Scorer, ScoringContext, result_at, verdict

ScorerFactory = Callable[..., Scorer]
_F = TypeVar("_F", bound=Callable[..., Any])

# name -> module whose import registers it (via @scorer). Nothing is imported until a name is used.
_BUILTIN: dict[str, str] = {
    "exact": "harness.scoring.text",
    "contains": "harness.scoring.text",
    "regex": "harness.scoring.text",
    "numeric": "harness.scoring.numeric",
    "choice": "harness.scoring.choice",
    "f1": "harness.scoring.f1",
    "json": "harness.scoring.json_scorer",
    "judge": "harness.scoring.judge",
}
_REGISTRY: dict[str, Callable[..., Any]] = {}
CUSTOM_FORM = "pkg.module:factory"


def scorer(name: str) -> Callable[[_F], _F]:
    """Register a scorer factory under `name`: `@scorer("numeric") def numeric(*, tolerance=0.0) -> Scorer`.

    The factory takes the scorer's options as keyword arguments and returns a callable
    `(record, result_index) -> Score`.
    """

    def register(factory: _F) -> _F:
        _REGISTRY[name] = factory
        return factory

    return register


def scorer_names() -> list[str]:
    """Every scorer name that can be used without a dotted path."""
    return sorted(set(_BUILTIN) | set(_REGISTRY))


def get_factory(name: str, *, field: str = "scorers.name") -> Callable[..., Any]:
    """The factory registered under `name`, or found at the dotted path `pkg.module:factory`."""
    if name in _REGISTRY:
        return _REGISTRY[name]
    if name in _BUILTIN:
        importlib.import_module(_BUILTIN[name])
        return _REGISTRY[name]
    if ":" in name:
        return _load_dotted(name, field)
    raise ConfigError(f"unknown scorer {name!r}", field=field, allowed=[*scorer_names(), CUSTOM_FORM])


def _load_dotted(path: str, field: str) -> Callable[..., Any]:
    module_name, _, attr = path.partition(":")
    if not module_name or not attr:
        raise ConfigError(f"custom scorer {path!r} must have the form {CUSTOM_FORM}", field=field)
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigError(
            f"custom scorer {path!r}: cannot import module {module_name!r} ({exc})", field=field
        ) from exc
    target: Any = module
    for part in attr.split("."):
        if not hasattr(target, part):
            raise ConfigError(f"custom scorer {path!r}: module {module_name!r} has no {attr!r}", field=field)
        target = getattr(target, part)
    if not callable(target):
        raise ConfigError(f"custom scorer {path!r} is not callable", field=field)
    return cast(Callable[..., Any], target)


def build_scorer(
    config: ScorerConfig, *, field: str = "scorers", context: ScoringContext = NO_CONTEXT
) -> Scorer:
    """Build the scorer a config names, checking its options now (ConfigError names scorer and option).
    `context` goes to factories that declare a `context` parameter (harness.scoring.base.Scorer)."""
    factory = get_factory(config.name, field=f"{field}.name")
    options = dict(config.options)
    _check_option_names(config.name, factory, options, field)
    if CONTEXT_PARAMETER in options:
        raise ConfigError(
            f"scorer {config.name!r}: {CONTEXT_PARAMETER!r} is given by the harness, not a suite option",
            field=f"{field}.options.{CONTEXT_PARAMETER}",
        )
    if _takes_context(factory):
        options[CONTEXT_PARAMETER] = context
    try:
        built = validate_call(config=ConfigDict(arbitrary_types_allowed=True))(factory)(**options)
    except ValidationError as exc:
        raise _option_error(config.name, exc, field) from exc
    except ConfigError as exc:
        raise ConfigError(
            f"scorer {config.name!r}: {exc.message}",
            file=exc.file,
            field=f"{field}.{exc.field}" if exc.field else field,
            allowed=exc.allowed,
        ) from exc
    if not callable(built):
        raise ConfigError(
            f"scorer {config.name!r}: its factory returned {type(built).__name__}, not a callable "
            "(record, result_index) -> Score",
            field=f"{field}.name",
        )
    if config.name in _BUILTIN:
        return cast(Scorer, built)
    return _CustomScorer(config.name, built)


CONTEXT_PARAMETER = "context"


def _takes_context(factory: Callable[..., Any]) -> bool:
    try:
        param = inspect.signature(factory).parameters.get(CONTEXT_PARAMETER)
    except (TypeError, ValueError):
        return False
    return param is not None and param.kind is inspect.Parameter.KEYWORD_ONLY


def _check_option_names(
    name: str, factory: Callable[..., Any], options: dict[str, object], field: str
) -> None:
    try:
        params = inspect.signature(factory).parameters
    except (TypeError, ValueError):
        return
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return
    allowed = [
        p.name
        for p in params.values()
        if p.kind in (inspect.Parameter.KEYWORD_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
        and p.name != CONTEXT_PARAMETER
    ]
    for option in options:
        if option not in allowed:
            raise ConfigError(
                f"scorer {name!r} has no option {option!r}",
                field=f"{field}.options.{option}",
                allowed=allowed,
            )


def _option_error(name: str, exc: ValidationError, field: str) -> ConfigError:
    first = exc.errors()[0]
    loc = ".".join(str(part) for part in first["loc"])
    ctx = first.get("ctx") or {}
    allowed = ctx.get("expected")
    got = first.get("input")
    return ConfigError(
        f"scorer {name!r}: option {loc!r}: {first['msg']} (got {got!r})",
        field=f"{field}.options.{loc}",
        allowed=str(allowed) if allowed is not None else None,
    )


class _CustomScorer:
    """Adapts a user scorer: it may return a Score, a bool, a number in [0, 1] or None (no answer).

    A number counts as correct when it is at least 0.5; the Score's ids are always the record's.
    """

    def __init__(self, name: str, inner: Callable[[Record, int], object]) -> None:
        self.name = name
        self.inner = inner

    def __call__(self, record: Record, result_index: int) -> Score:
        result_at(record, result_index)
        out = self.inner(record, result_index)
        if isinstance(out, Score):
            return out
        if out is None:
            return verdict(record, result_index, self.name, extracted=None, correct=False)
        if isinstance(out, bool):
            return verdict(record, result_index, self.name, extracted=str(out).lower(), correct=out)
        if isinstance(out, int | float) and 0.0 <= float(out) <= 1.0:
            value = float(out)
            return verdict(
                record, result_index, self.name, extracted=f"{value:g}", correct=value >= 0.5, value=value
            )
        raise ScoringError(
            f"custom scorer {self.name!r} returned {out!r}; expected a Score, a bool, a number in [0, 1] or None"
        )
