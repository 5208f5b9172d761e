"""Suite config models: short forms, grid collection and checks, the editor JSON Schema."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from harness.config import (
    GridConfig,
    PromptConfig,
    RunConfig,
    ScorerConfig,
    SuiteConfig,
    TargetConfig,
    ThresholdConfig,
    looks_like_key,
    parse_threshold,
    suite_json_schema,
    url_problem,
)

ROOT = Path(__file__).resolve().parents[2]


def suite(**extra: Any) -> SuiteConfig:
    return SuiteConfig.model_validate({"name": "t", "dataset": {"path": "rows.jsonl"}, **extra})


def test_threshold_short_form() -> None:
    assert ThresholdConfig.model_validate("accuracy >= 0.8") == ThresholdConfig(
        metric="accuracy", op=">=", value=0.8
    )


def test_threshold_short_form_with_bound_and_scope() -> None:
    got = ThresholdConfig.model_validate("p95_latency_s < 2.5 on ci_high in overall")
    assert (got.metric, got.op, got.value, got.on, got.scope) == (
        "p95_latency_s",
        "<",
        2.5,
        "ci_high",
        "overall",
    )


def test_threshold_metric_with_colon_and_at() -> None:
    assert parse_threshold("pass@4 > .5")["metric"] == "pass@4"
    assert parse_threshold("score:numeric >= 1e-1")["value"] == pytest.approx(0.1)


def test_threshold_unreadable_names_the_form() -> None:
    with pytest.raises(ValidationError, match="METRIC OP VALUE"):
        ThresholdConfig.model_validate("accuracy is high")


def test_threshold_bad_scope_is_rejected() -> None:
    with pytest.raises(ValidationError, match="scope"):
        ThresholdConfig.model_validate("accuracy >= 0.8 in every_cell")


def test_scorer_bare_string() -> None:
    assert ScorerConfig.model_validate("numeric") == ScorerConfig(name="numeric")


def test_suite_scorers_and_thresholds_mixed_forms() -> None:
    s = suite(
        scorers=["numeric", {"name": "regex", "options": {"pattern": "x"}}], thresholds=["accuracy >= 0.5"]
    )
    assert [x.name for x in s.scorers] == ["numeric", "regex"]
    assert s.thresholds[0].value == 0.5


def test_grid_collects_direct_axes() -> None:
    grid = GridConfig.model_validate({"temperature": [0, 0.6], "topK": [20], "exclude": [{"topK": 20}]})
    assert grid.axes == {"temperature": [0, 0.6], "topK": [20]}
    assert grid.exclude == [{"topK": 20}]


def test_grid_round_trips_through_dump() -> None:
    grid = GridConfig.model_validate({"temperature": [0, 0.6], "zip": [{"topK": [1, 2], "topP": [0.5, 0.9]}]})
    assert GridConfig.model_validate(grid.model_dump(mode="json")) == grid


def test_grid_axis_twice_is_rejected() -> None:
    with pytest.raises(ValidationError, match="both directly and under axes"):
        GridConfig.model_validate({"axes": {"topK": [1]}, "topK": [2]})


def test_grid_empty_axis_is_rejected() -> None:
    with pytest.raises(ValidationError, match="empty list"):
        GridConfig.model_validate({"temperature": []})


def test_grid_zip_lengths_must_match() -> None:
    with pytest.raises(ValidationError, match="equal length"):
        GridConfig.model_validate({"zip": [{"topK": [1, 2], "topP": [0.5]}]})


def test_grid_axis_in_zip_and_product_is_rejected() -> None:
    with pytest.raises(ValidationError, match="appears in both"):
        GridConfig.model_validate({"topK": [1], "zip": [{"topK": [1, 2], "topP": [0.5, 0.6]}]})


def test_grid_exclude_unknown_axis_suggests() -> None:
    with pytest.raises(ValidationError, match="did you mean 'temperature'"):
        GridConfig.model_validate({"temperature": [0, 1], "exclude": [{"temprature": 0}]})


@pytest.mark.parametrize(
    ("axis", "value", "message"),
    [
        ("repeats", 0, "positive integer"),
        ("numberResults", 1.5, "positive integer"),
        ("seed", -1, "0..4294967295"),
        ("target", 3, "not a target name"),
    ],
)
def test_grid_special_axes_are_typed(axis: str, value: Any, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        GridConfig.model_validate({axis: [value]})


def test_settings_cannot_hold_repeats() -> None:
    with pytest.raises(ValidationError, match="top-level `repeats:`"):
        suite(settings={"repeats": 3})


def test_prompt_template_and_messages_are_exclusive() -> None:
    with pytest.raises(ValidationError, match="not both"):
        PromptConfig.model_validate(
            {"template": "{{ input }}", "messages": [{"role": "user", "content": "x"}]}
        )


def test_prompt_last_message_must_be_user() -> None:
    with pytest.raises(ValidationError, match="role user"):
        PromptConfig.model_validate(
            {"messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}]}
        )


def test_prompt_default_template_is_input() -> None:
    assert PromptConfig().user_template == "{{ input }}"


def test_suite_unknown_key_is_rejected() -> None:
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        suite(repeat=3)


def test_suite_is_frozen() -> None:
    s = suite()
    with pytest.raises(ValidationError):
        s.name = "other"  # type: ignore[misc]


def test_suite_dump_validates_back() -> None:
    s = suite(grid={"temperature": [0.6]}, scorers=["numeric"], thresholds=["accuracy >= 0.1"])
    assert SuiteConfig.model_validate(s.model_dump(mode="json")) == s


def test_every_suite_field_is_described() -> None:
    schema = suite_json_schema()
    missing = [
        f"{name}.{prop}"
        for name, definition in [("SuiteConfig", schema), *schema["$defs"].items()]
        for prop, spec in definition.get("properties", {}).items()
        if "description" not in spec
    ]
    assert missing == []


def test_schema_accepts_short_forms() -> None:
    defs = suite_json_schema()["$defs"]
    assert defs["ScorerConfig"]["anyOf"][0]["type"] == "string"
    assert defs["ThresholdConfig"]["anyOf"][0]["type"] == "string"
    assert defs["GridConfig"]["additionalProperties"]["type"] == "array"


def test_committed_schema_is_current() -> None:
    committed = json.loads((ROOT / "suites" / "suite.schema.json").read_text())
    assert committed == suite_json_schema()


# Bad input that used to reach the wire or echo a secret (issue #10, item 3).


def target(**fields: Any) -> TargetConfig:
    return TargetConfig.model_validate({"name": "t", "provider": "runware", "model": "m", **fields})


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("https://api.runware.ai/v1", None),
        ("http://127.0.0.1:8000/v1", None),
        ("HTTPS://API.RUNWARE.AI/v1", None),
        ("ftp://example.com/v1", "scheme is ftp://"),
        ("api.runware.ai/v1", "does not start with http:// or https://"),
        ("localhost:8000/v1", "does not start with http:// or https://"),
        ("https:///v1", "no host"),
        ("http://host:port/v1", "cannot be parsed"),
        ("http://example.com/v 1", "white space"),
        ("https://user:pass@example.com/v1", "credentials"),
    ],
)
def test_url_problem(url: str, problem: str | None) -> None:
    found = url_problem(url)
    assert found is None if problem is None else problem in str(found)


def test_endpoint_error_does_not_show_credentials(tmp_path: Path) -> None:
    from harness.errors import ConfigError
    from harness.loading import load_target

    path = tmp_path / "t.yaml"
    path.write_text("provider: runware\nendpoint: https://bob:s3cr3t-pw@example.com/v1\nmodel: m\n")
    with pytest.raises(ConfigError) as info:
        load_target(str(path))
    assert (info.value.field, info.value.line) == ("endpoint", 2)
    assert "credentials" in str(info.value)
    assert "s3cr3t-pw" not in str(info.value)


@pytest.mark.parametrize(
    ("name", "key_like"),
    [
        ("RUNWARE_API_KEY", False),
        ("LOCAL_LLM_API_KEY_2", False),
        ("my_very_long_project_api_key_v2", False),
        ("OPENAI_API_KEY_FOR_STAGING_ENVIRONMENT", False),
        ("Xq7bT9mK2pL4vN8wR3sY6zA1cF5hJ0dE", True),
        ("3f9a1c0e7b2d4a6f8e1c3b5d7f9a0c2e", True),
        ("KEY_a8F3kL0pQ9zX2mN7vB4c", True),
    ],
)
def test_looks_like_key(name: str, key_like: bool) -> None:
    assert looks_like_key(name) is key_like


@pytest.mark.parametrize(
    "value",
    ["sk-proj-Q2hY7xKd93LmT0pBvR5sWn8e", "Xq7bT9mK2pL4vN8wR3sY6zA1cF5hJ0dE", "key with spaces", 123456789],
)
def test_api_key_env_that_is_not_a_name_is_refused_without_echo(value: object) -> None:
    with pytest.raises(ValidationError) as info:
        target(api_key_env=value)
    (error,) = info.value.errors(include_input=False)
    assert error["loc"] == ("api_key_env",)
    assert str(value) not in error["msg"]
    assert "not shown" in error["msg"]


def test_api_key_env_name_is_kept() -> None:
    assert target(api_key_env="RUNWARE_API_KEY").api_key_env == "RUNWARE_API_KEY"


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_config_numbers_must_be_finite(value: float) -> None:
    with pytest.raises(ValidationError, match="finite number"):
        RunConfig(rate_rps=value)
    with pytest.raises(ValidationError, match="finite number"):
        target(timeouts={"total_s": value})
