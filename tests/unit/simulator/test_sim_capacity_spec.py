"""The capacity spec parser and the knee formula of harness.simulator.capacity."""

from __future__ import annotations

import pytest

from harness.errors import ConfigError
from harness.simulator.capacity import CapacityModel, parse_capacity


def test_full_spec_parses_every_key() -> None:
    model = parse_capacity("slots=4,queue=16,full=429,batch=0.01")
    assert model == CapacityModel(slots=4, queue=16, full=429, batch_s=0.01)


@pytest.mark.parametrize("spec", [None, "", "0", "none", "off"])
def test_no_spec_means_unlimited(spec: str | None) -> None:
    assert parse_capacity(spec) is None


def test_spec_round_trips_through_to_spec() -> None:
    model = parse_capacity("slots=3,queue=0,batch=0.5")
    assert model is not None
    assert parse_capacity(model.to_spec()) == model


@pytest.mark.parametrize(
    ("spec", "fragment"),
    [
        ("queue=4", "needs slots"),
        ("slots=0", "slots=0 out of range"),
        ("slots=two", "slots must be an integer"),
        ("slots=2,full=500", "full='500'"),
        ("slots=2,batch=-1", "batch=-1.0 out of range"),
        ("slots=2,depth=3", "bad capacity item 'depth=3'"),
    ],
)
def test_bad_specs_name_the_flag_and_the_problem(spec: str, fragment: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_capacity(spec)
    assert info.value.field == "--capacity"
    assert fragment in info.value.message


def test_knee_is_slots_over_service_time() -> None:
    assert CapacityModel(slots=4).knee_rps(0.2) == pytest.approx(20.0)


def test_batching_slowdown_lowers_the_knee_at_full_occupancy() -> None:
    # 4 slots, 0.2 s service, +0.05 s per other busy slot: 4 / (0.2 + 0.15)
    assert CapacityModel(slots=4, batch_s=0.05).knee_rps(0.2) == pytest.approx(4 / 0.35)


def test_a_child_simulator_gets_the_capacity_flag() -> None:
    from harness.simulator import SimulatorOptions, SimulatorProcess

    process = SimulatorProcess(SimulatorOptions(capacity=CapacityModel(slots=2, queue=8)))
    try:
        command = process.command()
    finally:
        process._tmp.cleanup()
    assert command[command.index("--capacity") + 1] == "slots=2,queue=8,full=503,batch=0.0"
