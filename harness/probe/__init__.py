"""`harness probe`: small designed experiments that tell whether a service honours each setting it is
sent (`applied`, `ignored`, `rejected` or `inconclusive`, with the statistic behind each verdict).
experiments.py holds the design as data, verdicts.py and statistics.py the pure verdicts and tests,
runner.py the orchestration through the engine into a run directory, outputs.py what it leaves there.
"""

from __future__ import annotations

from harness.probe.experiments import (
    DEFAULT_MAX_COST_USD,
    DEFAULT_SAMPLES,
    Arm,
    Design,
    Experiment,
    design_probe,
)
from harness.probe.runner import ProbeOptions, ProbeResult, prepare_probe, run_probe, suite_settings
from harness.probe.verdicts import VERDICTS, Verdict, VerdictName

__all__ = [
    "DEFAULT_MAX_COST_USD",
    "DEFAULT_SAMPLES",
    "VERDICTS",
    "Arm",
    "Design",
    "Experiment",
    "ProbeOptions",
    "ProbeResult",
    "Verdict",
    "VerdictName",
    "design_probe",
    "prepare_probe",
    "run_probe",
    "suite_settings",
]
