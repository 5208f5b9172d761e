"""qwen-harness: evaluate and benchmark LLM inference APIs (quality, latency, cost) across settings sweeps.

The public API is re-exported here lazily (PEP 562), so that `import harness` and `harness --help`
stay fast: a name's module is imported the first time the name is used.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS: dict[str, str] = {
    "ConfigError": "harness.errors",
    "HarnessError": "harness.errors",
    "Record": "harness.records",
    "RunData": "harness.stats",
    "RunResult": "harness.runner",
    "Score": "harness.records",
    "SimulatorOptions": "harness.simulator",
    "Trial": "harness.records",
    "build_outputs": "harness.report",
    "compare_runs": "harness.compare",
    "evaluate_thresholds": "harness.gate",
    "export_parquet": "harness.stats",
    "load_run": "harness.stats",
    "load_suite": "harness.loading",
    "load_target": "harness.loading",
    "run_suite": "harness.orchestration.suite",
    "run_trials": "harness.runner",
    "score_run": "harness.scoring",
    "serve_simulator": "harness.simulator",
    "summarize": "harness.stats",
}

__all__ = [
    "ConfigError",
    "HarnessError",
    "Record",
    "RunData",
    "RunResult",
    "Score",
    "SimulatorOptions",
    "Trial",
    "__version__",
    "build_outputs",
    "compare_runs",
    "evaluate_thresholds",
    "export_parquet",
    "load_run",
    "load_suite",
    "load_target",
    "run_suite",
    "run_trials",
    "score_run",
    "serve_simulator",
    "summarize",
]

if TYPE_CHECKING:
    from harness.compare import compare_runs
    from harness.errors import ConfigError, HarnessError
    from harness.gate import evaluate_thresholds
    from harness.loading import load_suite, load_target
    from harness.orchestration.suite import run_suite
    from harness.records import Record, Score, Trial
    from harness.report import build_outputs
    from harness.runner import RunResult, run_trials
    from harness.scoring import score_run
    from harness.simulator import SimulatorOptions, serve_simulator
    from harness.stats import RunData, export_parquet, load_run, summarize


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'harness' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
