"""Capability cards: loading, errors naming file and field, and the validator (incl. hypothesis properties)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.capability import ModelCard, Violation, find_card, load_card, validate_settings, validate_task
from harness.errors import ConfigError

QWEN = load_card("qwen3.5-397b")
UUID = "5f0c1b9e-2a51-4c47-9d1e-6f3a2b7c8d90"


def task(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "taskType": "textInference",
        "taskUUID": UUID,
        "model": "alibaba:qwen@3.5-397b",
        "messages": [{"role": "user", "content": "hi"}],
    }
    base.update(fields)
    return base


def codes(violations: list[Violation]) -> list[str]:
    return [v.code for v in violations]


def test_qwen_card_has_protocol_ranges_and_defaults() -> None:
    s = QWEN.settings
    assert (s["temperature"].min, s["temperature"].max, s["temperature"].default) == (0, 2, 0.6)
    assert (s["topK"].type, s["topK"].min, s["topK"].max, s["topK"].default) == ("int", 1, 100, 20)
    assert (s["maxTokens"].min, s["maxTokens"].max) == (1, 65536)
    assert QWEN.task["numberResults"].max == 4
    assert QWEN.task["seed"].max == 4294967295


def test_thinking_level_values_live_in_the_card_marked_unverified() -> None:
    spec = QWEN.settings["thinkingLevel"]
    assert spec.allowed == ["low", "high"]
    assert spec.default == "high"
    assert spec.unverified is True


def test_openai_generic_card_uses_wire_names() -> None:
    card = load_card("openai-generic")
    assert card.provider == "openai"
    assert card.settings["topP"].wire_name == "top_p"
    assert card.settings["presencePenalty"].min == -2


def test_find_card_by_model_id() -> None:
    assert find_card("alibaba:qwen@3.5-397b") == QWEN
    assert find_card("openai-compatible") is not None
    assert find_card("nobody:nothing@0") is None


def test_unknown_card_name_lists_available_cards() -> None:
    with pytest.raises(ConfigError) as err:
        load_card("no-such-card")
    assert "qwen3.5-397b" in str(err.value)


def test_card_error_names_file_and_field(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "name: bad\nprovider: runware\nmodels: [m]\nmessages: {roles: [user]}\n"
        "settings:\n  temperature: {type: float, min: 2, max: 1}\n"
    )
    with pytest.raises(ConfigError) as err:
        load_card(bad)
    assert err.value.file == str(bad)
    assert err.value.field == "settings.temperature"


def test_card_rejects_unknown_keys(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "name: bad\nprovider: runware\nmodels: [m]\nmessages: {roles: [user]}\nsettings: {}\ncolour: red\n"
    )
    with pytest.raises(ConfigError, match="colour"):
        load_card(bad)


def test_card_rejects_an_invalid_default(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "name: bad\nprovider: runware\nmodels: [m]\nmessages: {roles: [user]}\n"
        "settings:\n  level: {type: enum, allowed: [a, b], default: c}\n"
    )
    with pytest.raises(ConfigError, match="default"):
        load_card(bad)


def test_valid_task_has_no_violations() -> None:
    full = task(
        deliveryMethod="stream",
        seed=0,
        includeCost=True,
        includeUsage=True,
        webhookURL="https://example.com/hook?token=x",
        inputs={"images": ["https://e.com/a.png"], "videos": [UUID]},
        settings={
            "systemPrompt": "Be brief.",
            "temperature": 0,
            "topK": 100,
            "stopSequences": ["\n\n"],
            "thinkingLevel": "low",
        },
    )
    assert validate_task(QWEN, full) == []


def test_violation_to_error_dict_is_the_protocol_envelope_entry() -> None:
    [v] = validate_task(QWEN, task(settings={"temperature": 2.5}))
    assert v.to_error_dict(UUID) == {
        "code": "invalidTemperature",
        "message": "Invalid value for temperature: must be between 0 and 2.",
        "parameter": "settings.temperature",
        "type": "float",
        "min": 0,
        "max": 2,
        "taskType": "textInference",
        "taskUUID": UUID,
    }


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"settings": {"topK": True}}, "invalidTopK"),
        ({"settings": {"systemPrompt": ""}}, "invalidSystemPrompt"),
        ({"settings": {"stopSequences": "x"}}, "invalidStopSequences"),
        ({"includeCost": "yes"}, "invalidIncludeCost"),
        ({"webhookURL": "ftp://x"}, "invalidWebhookURL"),
        ({"seed": -1}, "invalidSeed"),
        ({"settings": []}, "invalidSettings"),
        ({"inputs": {"audio": ["x"]}}, "unknownParameter"),
        ({"inputs": {"images": ["data:video/mp4;base64,AAAA"]}}, "invalidImages"),
        ({"messages": [{"role": "user", "content": "a", "name": "x"}]}, "invalidMessages"),
        ({"messages": "hi"}, "invalidMessages"),
        ({"taskType": "imageInference"}, "invalidTaskType"),
        ({"model": "other:model@1"}, "invalidModel"),
    ],
)
def test_task_violation_codes(fields: dict[str, Any], code: str) -> None:
    assert codes(validate_task(QWEN, task(**fields))) == [code]


def test_missing_required_fields() -> None:
    assert codes(validate_task(QWEN, {"taskType": "textInference"})) == [
        "missingTaskUUID",
        "missingModel",
        "missingMessages",
    ]


def test_validate_settings_accepts_seed_and_number_results() -> None:
    assert validate_settings(QWEN, {"temperature": 1.0, "seed": 5, "numberResults": 4}) == []
    assert codes(validate_settings(QWEN, {"numberResults": 9, "top_k": 3})) == [
        "invalidNumberResults",
        "unknownParameter",
    ]


def test_validate_settings_uses_plain_parameter_names() -> None:
    [v] = validate_settings(QWEN, {"minP": 1.5})
    assert (v.parameter, v.min, v.max) == ("minP", 0, 1)


def _numeric_specs(card: ModelCard) -> list[tuple[str, Any]]:
    return [(k, s) for k, s in card.settings.items() if s.type in ("int", "float")]


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_property_numeric_setting_valid_iff_within_card_range(data: st.DataObject) -> None:
    name, spec = data.draw(st.sampled_from(_numeric_specs(QWEN)))
    value = data.draw(st.integers(-5, 70000) if spec.type == "int" else st.floats(-5, 5, allow_nan=False))
    inside = spec.min <= value <= spec.max
    assert (validate_settings(QWEN, {name: value}) == []) == inside


@settings(max_examples=200, deadline=None)
@given(
    name=st.sampled_from(sorted(QWEN.settings)),
    value=st.one_of(
        st.none(), st.lists(st.integers(), min_size=1), st.dictionaries(st.text(), st.integers())
    ),
)
def test_property_wrong_types_always_rejected_with_the_setting_named(name: str, value: Any) -> None:
    [v] = validate_settings(QWEN, {name: value})
    assert v.code == f"invalid{name[0].upper()}{name[1:]}"
    assert v.parameter == name


@settings(max_examples=200, deadline=None)
@given(
    name=st.text(min_size=1, max_size=12).filter(
        lambda n: n not in QWEN.settings and n not in ("seed", "numberResults")
    )
)
def test_property_unknown_settings_always_rejected(name: str) -> None:
    assert codes(validate_settings(QWEN, {name: 1})) == ["unknownParameter"]


@settings(max_examples=200, deadline=None)
@given(roles=st.lists(st.sampled_from(["user", "assistant", "system", "tool"]), min_size=1, max_size=5))
def test_property_messages_valid_iff_roles_allowed_and_last_is_user(roles: list[str]) -> None:
    messages = [{"role": r, "content": "x"} for r in roles]
    ok = all(r in ("user", "assistant") for r in roles) and roles[-1] == "user"
    assert (validate_task(QWEN, task(messages=messages)) == []) == ok


def test_openai_generic_card_takes_the_portable_thinking_switch() -> None:
    from harness.capability import load_card, validate_settings

    card = load_card("openai-generic")
    assert validate_settings(card, {"thinkingLevel": "low"}) == []
    assert validate_settings(card, {"thinkingLevel": "high"}) == []
    (violation,) = validate_settings(card, {"thinkingLevel": "medium"})
    assert violation.parameter.endswith("thinkingLevel")
    assert list(violation.allowed_values or []) == ["low", "high"]


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_non_finite_numbers_fail_every_numeric_setting(value: float) -> None:
    # NaN compares false with both bounds, so a range check alone lets it through.
    (violation,) = validate_settings(QWEN, {"temperature": value})
    assert violation.code == "invalidTemperature"
    assert "finite number" in violation.message


def test_card_with_a_nan_bound_names_file_line_and_field(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "name: bad\nprovider: runware\nmodels: [m]\nmessages: {roles: [user]}\n"
        "settings:\n  temperature: {type: float, min: 0, max: .nan}\n"
    )
    with pytest.raises(ConfigError) as err:
        load_card(bad)
    assert (err.value.field, err.value.line) == ("settings.temperature.max", 6)


def test_card_that_is_not_utf8_is_a_config_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_bytes(b"name: bad\ndescription: \xe9t\xe9\n")
    with pytest.raises(ConfigError, match="not UTF-8") as err:
        load_card(bad)
    assert err.value.line == 2
