"""The report header names the delivery method the run really used."""

from __future__ import annotations

from harness.report.sections import build_header


def _target_fact(manifest: dict[str, object]) -> str:
    header = build_header(manifest, {"suite": "s"}, n_records=0, skipped=0)
    (fact,) = [f for f in header.facts if f.label == "Target sim"]
    return fact.value


def test_the_suites_run_delivery_overrides_the_targets() -> None:
    manifest = {
        "targets": {"sim": {"provider": "simulator", "model": "m", "delivery": "sync"}},
        "run": {"delivery": "stream"},
    }
    assert _target_fact(manifest) == "simulator · m · stream"


def test_the_targets_delivery_when_the_run_sets_none() -> None:
    manifest = {
        "targets": {"sim": {"provider": "simulator", "model": "m", "delivery": "async"}},
        "run": {"delivery": None},
    }
    assert _target_fact(manifest) == "simulator · m · async"
