"""Loading suites and targets: YAML lines in errors, did-you-mean, --set overrides, target lookup."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness import yamldoc
from harness.errors import ConfigError
from harness.loading import (
    apply_overrides,
    combine_errors,
    load_suite,
    load_suite_source,
    load_target,
    load_targets,
    parse_override,
    read_yaml,
)

SUITE = """\
name: t
dataset:
  path: rows.jsonl
settings:
  maxTokens: 64
grid:
  temperature: [0, 0.6]
scorers: [numeric]
"""


@pytest.fixture
def suite_file(tmp_path: Path) -> Path:
    path = tmp_path / "t.yaml"
    path.write_text(SUITE)
    return path


def write(tmp_path: Path, text: str, name: str = "s.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_load_valid_suite(suite_file: Path) -> None:
    suite = load_suite(suite_file)
    assert suite.grid.axes == {"temperature": [0, 0.6]}
    assert suite.scorers[0].name == "numeric"


def test_line_index(suite_file: Path) -> None:
    doc = read_yaml(suite_file)
    assert doc.lines[("settings", "maxTokens")] == 5
    assert doc.lines[("grid", "temperature")] == 7
    assert doc.line(("grid", "temperature", 1)) == 7  # flow list elements share the key's line
    assert doc.line(("dataset", "absent")) == 2


def test_unknown_key_has_line_and_did_you_mean(tmp_path: Path) -> None:
    path = write(tmp_path, SUITE + "repeat: 3\n")
    with pytest.raises(ConfigError) as info:
        load_suite(path)
    err = info.value
    assert (err.field, err.line) == ("repeat", 9)
    assert "unknown key 'repeat' (did you mean 'repeats'?)" in err.message
    assert "repeats" in str(err.allowed)


def test_nested_unknown_key(tmp_path: Path) -> None:
    path = write(tmp_path, SUITE + "run:\n  concurency: 8\n")
    with pytest.raises(ConfigError) as info:
        load_suite(path)
    assert (info.value.field, info.value.line) == ("run.concurency", 10)
    assert "did you mean 'concurrency'" in info.value.message


def test_wrong_type_names_value_and_line(tmp_path: Path) -> None:
    path = write(tmp_path, SUITE + "repeats: many\n")
    with pytest.raises(ConfigError) as info:
        load_suite(path)
    assert (info.value.field, info.value.line) == ("repeats", 9)
    assert "'many'" in info.value.message


def test_bad_literal_lists_allowed_values(tmp_path: Path) -> None:
    path = write(tmp_path, SUITE + "run:\n  arrival: burst\n")
    with pytest.raises(ConfigError) as info:
        load_suite(path)
    assert info.value.field == "run.arrival"
    assert "'constant'" in info.value.message
    assert "'poisson'" in info.value.message


def test_grid_error_points_at_the_axis_line(tmp_path: Path) -> None:
    path = write(tmp_path, SUITE.replace("temperature: [0, 0.6]", "temperature: []"))
    with pytest.raises(ConfigError) as info:
        load_suite(path)
    assert info.value.line == 6  # grid: (validators of the whole grid report on its key)
    assert "empty list" in info.value.message


def test_missing_required_field(tmp_path: Path) -> None:
    path = write(tmp_path, "name: t\n")
    with pytest.raises(ConfigError) as info:
        load_suite(path)
    assert info.value.field == "dataset"
    assert "required" in info.value.message


def test_several_problems_are_listed(tmp_path: Path) -> None:
    path = write(tmp_path, SUITE + "repeat: 3\nrun:\n  concurrency: 0\n")
    with pytest.raises(ConfigError) as info:
        load_suite(path)
    text = str(info.value)
    assert "2 problems" in text
    assert "repeat" in text
    assert "run.concurrency" in text


def test_bad_yaml_has_line(tmp_path: Path) -> None:
    path = write(tmp_path, "name: t\ngrid:\n  temperature: [0, 0.6\n")
    with pytest.raises(ConfigError) as info:
        load_suite(path)
    assert "invalid YAML" in info.value.message
    assert info.value.line is not None
    assert info.value.line >= 3


def test_duplicate_key(tmp_path: Path) -> None:
    path = write(tmp_path, SUITE + "name: again\n")
    with pytest.raises(ConfigError) as info:
        load_suite(path)
    assert (info.value.field, info.value.line) == ("name", 9)
    assert "duplicate key" in info.value.message


def test_not_a_mapping(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="must be a YAML mapping"):
        load_suite(write(tmp_path, "- a\n- b\n"))


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="file not found"):
        load_suite(tmp_path / "absent.yaml")


def test_override_values_are_typed_yaml() -> None:
    assert parse_override("grid.temperature=[0,0.6,1.2]") == (["grid", "temperature"], [0, 0.6, 1.2])
    assert parse_override("repeats=3") == (["repeats"], 3)
    assert parse_override("thresholds.0=accuracy >= 0.8") == (["thresholds", 0], "accuracy >= 0.8")
    assert parse_override("settings.stopSequences=['\\n\\n']")[1] == ["\\n\\n"]
    assert parse_override("description=") == (["description"], None)


def test_override_without_equals() -> None:
    with pytest.raises(ConfigError, match="expected PATH=VALUE"):
        parse_override("repeats")


def test_apply_overrides_creates_and_replaces() -> None:
    data = {"grid": {"temperature": [0]}, "scorers": ["exact"]}
    out, touched = apply_overrides(
        data, ["grid.topK=[1,2]", "scorers.0=numeric", "scorers.1=exact", "run.concurrency=4"]
    )
    assert out == {
        "grid": {"temperature": [0], "topK": [1, 2]},
        "scorers": ["numeric", "exact"],
        "run": {"concurrency": 4},
    }
    assert data["grid"] == {"temperature": [0]}  # the input is not modified
    assert touched == {"grid.topK", "scorers.0", "scorers.1", "run.concurrency"}


def test_override_index_out_of_range() -> None:
    with pytest.raises(ConfigError, match="out of range"):
        apply_overrides({"scorers": []}, ["scorers.3.name=x"])


def test_override_applies_and_validates(suite_file: Path) -> None:
    source = load_suite_source(suite_file, overrides=["grid.temperature=[0,0.6,1.2]", "repeats=2"])
    assert source.config.grid.axes["temperature"] == [0, 0.6, 1.2]
    assert source.config.repeats == 2
    assert source.where("grid.temperature") == ("--set", None)
    assert source.where("settings.maxTokens") == (source.file, 5)


def test_bad_override_is_blamed_on_set(suite_file: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_suite(suite_file, overrides=["run.concurrency=lots"])
    assert (info.value.file, info.value.field) == ("--set", "run.concurrency")


def test_unknown_override_key_has_did_you_mean(suite_file: Path) -> None:
    with pytest.raises(ConfigError, match="did you mean 'settings'"):
        load_suite(suite_file, overrides=["setings.topK=5"])


def test_target_by_path_defaults_its_name(tmp_path: Path) -> None:
    path = write(
        tmp_path, "provider: openai\nendpoint: http://127.0.0.1:8000/v1\nmodel: qwen\n", "local.yaml"
    )
    target = load_target(str(path))
    assert (target.name, target.provider, target.model) == ("local", "openai", "qwen")


def test_target_error_has_line(tmp_path: Path) -> None:
    path = write(tmp_path, "provider: openai\nmodel: qwen\nbatch_size: 100\n", "bad.yaml")
    with pytest.raises(ConfigError) as info:
        load_target(str(path))
    assert (info.value.field, info.value.line) == ("batch_size", 3)


def test_unknown_target_name_suggests(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "configs" / "targets").mkdir(parents=True)
    (tmp_path / "configs" / "targets" / "runware-qwen.yaml").write_text("provider: runware\nmodel: m\n")
    monkeypatch.setenv("HARNESS_HOME", str(tmp_path))
    with pytest.raises(ConfigError) as info:
        load_target("runware-qwn")
    assert "did you mean 'runware-qwen'" in info.value.message
    assert load_target("runware-qwen").name == "runware-qwen"


def test_load_targets_reports_every_problem(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HARNESS_HOME", str(tmp_path))
    with pytest.raises(ConfigError, match="2 problems"):
        load_targets(["a", "b"])


def test_combine_single_error_is_itself() -> None:
    err = ConfigError("x", file="f")
    assert combine_errors([err]) is err


# Bad input that used to crash, hang or reach the wire (issue #10, item 3).


def test_non_utf8_file_names_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_bytes(SUITE.replace("name: t", "name: t\ndescription: caf\xe9").encode("latin-1"))
    with pytest.raises(ConfigError) as info:
        load_suite(path)
    assert info.value.line == 2
    assert "byte 0xe9 at line 2, column 17" in info.value.message


def test_utf8_byte_order_mark_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_bytes(b"\xef\xbb\xbf" + SUITE.encode())
    assert load_suite(path).name == "t"


def test_aliases_that_repeat_a_value_are_accepted(tmp_path: Path) -> None:
    text = SUITE.replace("  maxTokens: 64", "  maxTokens: 64\n  stopSequences: &stop [END]")
    text += "report:\n  title: &title A\ndescription: *title\ngrid_note: *stop\n"
    path = write(tmp_path, text.replace("grid_note: *stop\n", ""))
    assert load_suite(path).report.title == "A"


def test_alias_expansion_past_the_limit_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(yamldoc, "MAX_EXPANDED_VALUES", 50)
    # 1 + 1 + 1 + 6 * 7 = 45 values, no aliases: under the limit.
    literal = write(tmp_path, "a: [" + ", ".join("[1, 2, 3, 4, 5, 6]" for _ in range(6)) + "]\n", "lit.yaml")
    assert len(read_yaml(literal).data["a"]) == 6
    # 10 distinct values, 70 once the ten aliases of x (6 values each) are expanded.
    bomb = write(tmp_path, "a: &x [[1, 2], [3]]\nb: [*x, *x, *x, *x, *x, *x, *x, *x, *x, *x]\n", "bomb.yaml")
    with pytest.raises(ConfigError, match="aliases expand this document to more than 50 values") as info:
        read_yaml(bomb)
    assert str(info.value.file).endswith("bomb.yaml")


def test_a_large_file_without_aliases_is_not_limited(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(yamldoc, "MAX_EXPANDED_VALUES", 50)
    path = write(tmp_path, "a: [" + ", ".join(str(i) for i in range(200)) + "]\n")
    assert len(read_yaml(path).data["a"]) == 200


def test_recursive_alias_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="contains it") as info:
        read_yaml(write(tmp_path, "a: 1\nb: &b [1, *b]\n"))
    assert info.value.line == 2


def test_nesting_through_aliases_is_limited(tmp_path: Path) -> None:
    chain = "a0: &a0 [1]\n" + "".join(f"a{i}: &a{i} [*a{i - 1}]\n" for i in range(1, 80))
    with pytest.raises(ConfigError, match="nested more than 64 levels deep"):
        read_yaml(write(tmp_path, chain))


def test_deep_nesting_is_a_config_error_not_a_recursion_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="nested more than 64 levels deep") as info:
        read_yaml(write(tmp_path, "a: 1\nb: " + "[" * 2000 + "]" * 2000 + "\n"))
    assert info.value.line == 2


def test_file_too_large_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(yamldoc, "MAX_FILE_BYTES", 100)
    with pytest.raises(ConfigError, match="more than the 100 a config file may have"):
        read_yaml(write(tmp_path, "a: " + "x" * 200 + "\n"))


@pytest.mark.parametrize("spelling", [".nan", ".NaN", ".inf", "-.inf", "+.Inf"])
def test_non_finite_numbers_are_refused_with_their_line(tmp_path: Path, spelling: str) -> None:
    path = write(tmp_path, SUITE.replace("maxTokens: 64", f"maxTokens: 64\n  temperature: {spelling}"))
    with pytest.raises(ConfigError) as info:
        load_suite(path)
    assert (info.value.field, info.value.line) == ("settings.temperature", 6)
    assert "is not a finite number" in info.value.message


def test_every_non_finite_number_is_listed(tmp_path: Path) -> None:
    text = SUITE.replace("[0, 0.6]", "[.nan, 0.6]") + "run:\n  rate_rps: .inf\n"
    with pytest.raises(ConfigError) as info:
        load_suite(write(tmp_path, text))
    text = str(info.value)
    assert "2 problems" in text
    assert "grid.temperature.0" in text
    assert "run.rate_rps" in text


def test_non_finite_override_is_attributed_to_set(suite_file: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_suite(suite_file, overrides=["settings.topP=.nan"])
    assert (info.value.file, info.value.field) == ("--set", "settings.topP")


def test_override_alias_bomb_is_refused(suite_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(yamldoc, "MAX_EXPANDED_VALUES", 50)
    with pytest.raises(ConfigError, match="aliases expand") as info:
        parse_override(
            "settings.stopSequences=[&a [x, x, x, x, x, x, x, x], [*a, *a, *a, *a, *a, *a, *a, *a]]"
        )
    assert (info.value.file, info.value.field) == ("--set", "settings.stopSequences")


def test_target_file_non_finite_and_not_utf8(tmp_path: Path) -> None:
    text = "provider: simulator\nmodel: m\npoll_initial_s: .inf\n"
    with pytest.raises(ConfigError) as info:
        load_target(str(write(tmp_path, text, "t.yaml")))
    assert (info.value.field, info.value.line) == ("poll_initial_s", 3)
    (tmp_path / "u.yaml").write_bytes(b"provider: simulator\nmodel: \xff\n")
    with pytest.raises(ConfigError, match="not UTF-8") as info:
        load_target(str(tmp_path / "u.yaml"))
    assert info.value.line == 2


def test_grid_repeat_points_at_the_repeated_element(tmp_path: Path) -> None:
    path = write(
        tmp_path, SUITE.replace("temperature: [0, 0.6]", "temperature:\n    - 0\n    - 0.6\n    - 0.0")
    )
    with pytest.raises(ConfigError) as info:
        load_suite(path)
    assert (info.value.field, info.value.line) == ("grid.temperature.2", 10)
    assert "listed twice (also grid.temperature.0)" in info.value.message


@pytest.fixture(params=["libyaml", "python"])
def either_parser(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """read_yaml on libyaml's parser (the default when installed) and on PyYAML's pure-Python one."""
    if request.param == "python":
        monkeypatch.setattr(yamldoc, "_Loader", yamldoc._PureLoader)
    elif yamldoc._CParser is None:
        pytest.skip("PyYAML was built without libyaml")
    return str(request.param)


def test_every_guard_holds_on_either_parser(tmp_path: Path, either_parser: str) -> None:
    doc = read_yaml(write(tmp_path, "a: &x [1, 2]\nb:\n  c: *x\n  d: text\n"))
    assert doc.data == {"a": [1, 2], "b": {"c": [1, 2], "d": "text"}}
    assert doc.lines[("b", "d")] == 4
    with pytest.raises(ConfigError, match="nested more than 64 levels deep") as info:
        read_yaml(write(tmp_path, "a: 1\nb: " + "[" * 2000 + "]" * 2000 + "\n"))
    assert info.value.line == 2
    with pytest.raises(ConfigError, match="contains it"):
        read_yaml(write(tmp_path, "a: 1\nb: &b [1, *b]\n"))
    with pytest.raises(ConfigError, match="invalid YAML") as info:
        read_yaml(write(tmp_path, "a: 1\nb: [1, 2\nc: 3\n"))
    assert info.value.line is not None


def test_both_parsers_read_every_shipped_config_file_the_same() -> None:
    if yamldoc._CParser is None:
        pytest.skip("PyYAML was built without libyaml")
    root = Path(__file__).resolve().parents[2]
    files = sorted([*(root / "suites").rglob("*.yaml"), *(root / "configs").rglob("*.yaml")])
    assert len(files) > 10
    for path in files:
        fast = yamldoc.parse_yaml(path.read_text(encoding="utf-8"), str(path))
        pure_loader = yamldoc._PureLoader(path.read_text(encoding="utf-8"))
        pure = pure_loader.get_single_node()
        assert fast[1] == pure_loader.construct_document(pure), path
        pure_loader.dispose()
        fast_lines: dict[yamldoc.Loc, int] = {}
        pure_lines: dict[yamldoc.Loc, int] = {}
        yamldoc._index_lines(fast[0], (), fast_lines, str(path))
        yamldoc._index_lines(pure, (), pure_lines, str(path))
        assert fast_lines == pure_lines, path
