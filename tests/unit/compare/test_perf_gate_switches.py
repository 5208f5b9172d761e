"""gate.gate_latency and gate.latency_min_delta_s decide whether a latency ratio can fail the gate."""

from __future__ import annotations

import numpy as np

from harness.compare.perf import _verdict
from harness.config import GateConfig

# A clear 50% slow-down: every bootstrap ratio sits near 1.5, far above the default limit of 1.2.
RATIOS = np.full(200, 1.5)


def test_a_large_slowdown_is_a_regression_by_default() -> None:
    check = _verdict("c", "p95_latency_s", "paired", 50, 1.0, 1.5, RATIOS, GateConfig())
    assert check.verdict == "regression"


def test_gate_latency_false_reports_but_never_fails() -> None:
    check = _verdict("c", "p95_latency_s", "paired", 50, 1.0, 1.5, RATIOS, GateConfig(gate_latency=False))
    assert check.verdict == "pass"
    assert "not gated" in check.message


def test_a_change_under_the_noise_floor_passes() -> None:
    # 20 ms -> 30 ms is x1.5 but only 10 ms: under the default 50 ms floor.
    check = _verdict("c", "p95_latency_s", "paired", 50, 0.02, 0.03, RATIOS, GateConfig())
    assert check.verdict == "pass"
    assert "50 ms noise floor" in check.message


def test_a_lower_noise_floor_lets_a_small_change_fail() -> None:
    gate = GateConfig(latency_min_delta_s=0.005)
    check = _verdict("c", "p95_latency_s", "paired", 50, 0.02, 0.03, RATIOS, gate)
    assert check.verdict == "regression"


def test_cost_is_gated_whatever_the_latency_switch() -> None:
    check = _verdict(
        "c", "cost_per_trial_usd", "paired", 50, 1.0, 1.5, RATIOS, GateConfig(gate_latency=False)
    )
    assert check.verdict == "regression"
