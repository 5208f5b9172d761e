"""`harness probe` end to end against the simulator: a simulator told to drop one setting is caught,
exactly that setting, on the Runware protocol (in-process simulator) and the OpenAI-compatible one
(simulator in a child process), with the exit code, the run directory and its report."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
import yaml

from harness.cli import main as cli_main
from harness.errors import ConfigError
from harness.probe import ProbeOptions, run_probe
from harness.rundir import read_probe, read_records
from harness.rundir.layout import PROBE, RECORDS, REPORT
from harness.simulator import SimulatorOptions, SimulatorProcess

PROBED = {
    "seed", "temperature", "topK", "topP", "minP", "presencePenalty", "frequencyPenalty",
    "repetitionPenalty", "maxTokens", "stopSequences", "numberResults", "thinkingLevel",
    "systemPrompt", "includeUsage", "includeCost",
}  # fmt: skip


def sim_target(tmp_path: Path, ignore: list[str]) -> str:
    path = tmp_path / "sim-target.yaml"
    body = {
        "provider": "simulator",
        "model": "alibaba:qwen@3.5-397b",
        "capability": "qwen3.5-397b",
        "poll_initial_s": 0.02,
        "poll_max_s": 0.05,
        "simulator": {"latency": "0", "ignore_settings": ignore},
    }
    path.write_text(yaml.safe_dump(body), encoding="utf-8")
    return str(path)


@pytest.mark.parametrize("ignored", ["minP", "systemPrompt"])
def test_the_one_ignored_setting_is_reported_and_every_other_applied(tmp_path: Path, ignored: str) -> None:
    result = run_probe(ProbeOptions(target=sim_target(tmp_path, [ignored]), out=tmp_path / "run"))
    assert result.by_setting == {name: "ignored" if name == ignored else "applied" for name in PROBED}
    assert result.failing == [ignored]
    assert result.exit_code == 1
    assert ignored in result.message


def test_an_honest_service_is_applied_throughout_and_the_run_directory_holds_it(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    result = run_probe(ProbeOptions(target=sim_target(tmp_path, []), out=run_dir))
    assert result.exit_code == 0
    assert set(result.by_setting.values()) == {"applied"}
    probe = read_probe(run_dir)
    assert probe["settings"] == result.by_setting
    assert len(probe["verdicts"]) == len(result.verdicts)
    records = read_records(run_dir)
    assert len(records) == probe["trials"] == len(result.prepared.trials)
    assert {r.delivery for r in records} == {"sync", "stream", "async"}
    assert (run_dir / RECORDS).is_file()
    assert (run_dir / PROBE).is_file()
    page = (run_dir / REPORT).read_text(encoding="utf-8")
    assert '<section id="probe">' in page
    assert page.count("v-applied") >= len(result.verdicts)
    assert "http" not in page.replace("http-equiv", "")  # self-contained: no external asset


def test_suite_guard_exits_1_only_for_settings_the_suite_uses(tmp_path: Path) -> None:
    # suites/demo.yaml sweeps temperature, topK and thinkingLevel and never sends minP.
    unused = run_probe(ProbeOptions(target=sim_target(tmp_path, ["minP"]), out=tmp_path / "a", suite="demo"))
    assert unused.by_setting["minP"] == "ignored"
    assert unused.failing == []
    assert unused.exit_code == 0
    used = run_probe(ProbeOptions(target=sim_target(tmp_path, ["topK"]), out=tmp_path / "b", suite="demo"))
    assert used.failing == ["topK"]
    assert used.exit_code == 1


def test_the_cost_cap_refuses_before_anything_is_sent(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    with pytest.raises(ConfigError) as info:
        run_probe(ProbeOptions(target=sim_target(tmp_path, []), out=run_dir, max_cost_usd=1e-6))
    assert "--max-cost" in str(info.value)
    assert "estimated cost" in str(info.value)
    assert not run_dir.exists()


def test_dry_run_prints_the_estimate_and_sends_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = cli_main(["probe", sim_target(tmp_path, []), "--dry-run", "--out", str(tmp_path / "run")])
    out = capsys.readouterr().out
    assert code == 0
    assert "estimated cost     $" in out
    assert "trials       90" in out
    assert "nothing was sent" in out
    assert not (tmp_path / "run").exists()


def test_an_unknown_ignored_setting_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = cli_main(["probe", sim_target(tmp_path, ["top_k"]), "--out", str(tmp_path / "run")])
    assert code == 2
    err = capsys.readouterr().err
    assert "'top_k'" in err
    assert "'topK'" in err
    assert not (tmp_path / "run" / RECORDS).exists()


def test_openai_target_is_probed_under_its_own_names(tmp_path: Path) -> None:
    with SimulatorProcess(SimulatorOptions(latency="0", ignore_settings=["topK"])) as sim:
        target = tmp_path / "local.yaml"
        target.write_text(
            yaml.safe_dump(
                {
                    "provider": "openai",
                    "endpoint": sim.openai_base_url,
                    "model": "alibaba:qwen@3.5-397b",
                    "capability": "openai-generic",
                    "delivery": "stream",
                    "include_cost": False,
                    "reasoning_switch": {
                        "low": {"chat_template_kwargs": {"enable_thinking": False}},
                        "high": {"chat_template_kwargs": {"enable_thinking": True}},
                    },
                }
            ),
            encoding="utf-8",
        )
        result = run_probe(ProbeOptions(target=str(target), out=tmp_path / "run"))
        served = sim.stats()
    sent_as = {v.setting: v.sent_as for v in result.verdicts}
    assert sent_as["topK"] == "top_k"
    assert sent_as["minP"] == "min_p"
    assert sent_as["stopSequences"] == "stop"
    assert sent_as["numberResults"] == "n"
    assert result.by_setting["topK"] == "ignored"
    assert result.by_setting["includeCost"] == "inconclusive"  # chat completions report no cost
    others = {k: v for k, v in result.by_setting.items() if k not in ("topK", "includeCost")}
    assert set(others.values()) == {"applied"}
    assert result.exit_code == 1
    assert served["openai"]["requests"] == len(result.prepared.trials)
    assert served["requests"] == 0  # nothing went to the Runware endpoint
    assert orjson.loads((tmp_path / "run" / PROBE).read_bytes())["protocol"] == "openai"


def test_harness_report_rebuilds_the_verdicts_from_the_run_directory_alone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run_dir = tmp_path / "run"
    first = run_probe(ProbeOptions(target=sim_target(tmp_path, ["topP"]), out=run_dir, suite="demo"))
    written = read_probe(run_dir)
    page = (run_dir / REPORT).read_text(encoding="utf-8")
    (run_dir / PROBE).unlink()
    (run_dir / REPORT).unlink()
    (tmp_path / "sim-target.yaml").unlink()  # the rebuild reads nothing but the run directory
    code = cli_main(["report", str(run_dir)])
    assert code == first.exit_code == 1
    assert read_probe(run_dir) == written
    assert (run_dir / REPORT).read_text(encoding="utf-8") == page
    assert str(run_dir / REPORT) in capsys.readouterr().out
