"""harness.datasets: readers, field mapping, filters, ids, sampling, media and few-shot pools."""

from __future__ import annotations

import base64
import csv
import gzip
import json
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from harness.datasets import (
    DatasetConfig,
    Item,
    content_id,
    load_few_shot,
    load_items,
    lookup,
    seeded_indices,
)
from harness.errors import ConfigError

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 24


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    text = "".join(json.dumps(row) + "\n" for row in rows)
    if path.suffix == ".gz":
        path.write_bytes(gzip.compress(text.encode()))
    else:
        path.write_text(text)
    return path


def write_csv(path: Path, header: list[str], rows: list[list[str]], delimiter: str = ",") -> Path:
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh, delimiter=delimiter)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def qa_rows(n: int) -> list[dict[str, Any]]:
    return [
        {"id": f"q{i}", "question": f"What is {i}+{i}?", "answer": str(2 * i), "level": i % 3}
        for i in range(n)
    ]


def config(path: str, **kw: Any) -> DatasetConfig:
    fields = kw.pop("fields", {"id": "id", "input": "question", "target": "answer"})
    return DatasetConfig.model_validate({"path": path, "fields": fields, **kw})


# --- readers ---------------------------------------------------------------------------------------


def test_jsonl_gz_maps_input_target_and_id(tmp_path: Path) -> None:
    write_jsonl(tmp_path / "qa.jsonl.gz", qa_rows(3))
    items = load_items(config("qa.jsonl.gz"), base_dir=tmp_path)
    assert [(i.id, i.input, i.target) for i in items] == [
        ("q0", "What is 0+0?", "0"),
        ("q1", "What is 1+1?", "2"),
        ("q2", "What is 2+2?", "4"),
    ]
    assert items[1].fields == {"id": "q1", "question": "What is 1+1?", "answer": "2", "level": 1}
    assert items[1].row == 2
    assert items[1].source == str(tmp_path / "qa.jsonl.gz")
    assert items[0].choices is None
    assert items[0].images == []


def test_csv_with_choice_columns(tmp_path: Path) -> None:
    write_csv(tmp_path / "mc.csv", ["q", "A", "B", "C", "ans"], [["2+2?", "3", "4", "5", "B"]])
    cfg = config(
        "mc.csv", fields={"input": "q", "choices": ["A", "B", "C"], "target": "ans"}, target_format="letter"
    )
    (item,) = load_items(cfg, base_dir=tmp_path)
    assert item.choices == ["3", "4", "5"]
    assert item.target == "B"


def test_tsv_reads_tab_separated_cells(tmp_path: Path) -> None:
    write_csv(tmp_path / "d.tsv", ["id", "question", "answer"], [["a", "x, y", "1"]], delimiter="\t")
    (item,) = load_items(config("d.tsv"), base_dir=tmp_path)
    assert (item.id, item.input, item.target) == ("a", "x, y", "1")


def test_csv_error_names_the_line_after_a_multiline_cell(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    path.write_text('id,question,answer\na,"two\nlines",1\nb,no answer\n')
    with pytest.raises(ConfigError) as err:
        load_items(config("d.csv"), base_dir=tmp_path)
    assert err.value.line == 4
    assert err.value.field == "dataset.fields.target"
    assert err.value.file == str(path)
    assert "'answer'" in err.value.message


def test_json_array_and_wrapped_list_and_jsonl_named_json(tmp_path: Path) -> None:
    (tmp_path / "a.json").write_text(json.dumps(qa_rows(2)))
    (tmp_path / "b.json").write_text(json.dumps({"data": qa_rows(2)}))
    write_jsonl(tmp_path / "c.json", qa_rows(2))
    for name in ("a.json", "b.json", "c.json"):
        assert [i.id for i in load_items(config(name), base_dir=tmp_path)] == ["q0", "q1"]


def test_invalid_jsonl_line_is_named(tmp_path: Path) -> None:
    (tmp_path / "d.jsonl").write_text('{"id": "a", "question": "q", "answer": "1"}\n{"id": \n')
    with pytest.raises(ConfigError) as err:
        load_items(config("d.jsonl"), base_dir=tmp_path)
    assert (err.value.line, "not valid JSON" in err.value.message) == (2, True)


def test_jsonl_line_that_is_not_an_object_is_refused(tmp_path: Path) -> None:
    (tmp_path / "d.jsonl").write_text("[1, 2]\n")
    with pytest.raises(ConfigError, match="must be a JSON object, got list"):
        load_items(config("d.jsonl"), base_dir=tmp_path)


def test_missing_file_names_the_path_field(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as err:
        load_items(config("nope.jsonl"), base_dir=tmp_path)
    assert err.value.field == "dataset.path"
    assert str(tmp_path / "nope.jsonl") in err.value.message


def test_unknown_extension_lists_the_formats(tmp_path: Path) -> None:
    (tmp_path / "d.txt").write_text("x")
    with pytest.raises(ConfigError) as err:
        load_items(config("d.txt"), base_dir=tmp_path)
    assert err.value.field == "dataset.format"
    assert ".jsonl.gz" in str(err.value.allowed)


def test_explicit_format_overrides_the_extension(tmp_path: Path) -> None:
    write_jsonl(tmp_path / "d.txt", qa_rows(1))
    assert load_items(config("d.txt", format="jsonl"), base_dir=tmp_path)[0].id == "q0"


def test_empty_file_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "d.jsonl").write_text("\n")
    with pytest.raises(ConfigError, match="no rows"):
        load_items(config("d.jsonl"), base_dir=tmp_path)


def test_corrupt_gzip_is_a_config_error(tmp_path: Path) -> None:
    (tmp_path / "d.jsonl.gz").write_bytes(b"not gzip at all")
    with pytest.raises(ConfigError, match="cannot read"):
        load_items(config("d.jsonl.gz"), base_dir=tmp_path)


def test_csv_row_longer_than_header_is_refused(tmp_path: Path) -> None:
    (tmp_path / "d.csv").write_text("id,question,answer\na,b,c,d\n")
    with pytest.raises(ConfigError) as err:
        load_items(config("d.csv"), base_dir=tmp_path)
    assert err.value.line == 2
    assert "more cells" in err.value.message


# --- field mapping -----------------------------------------------------------------------------------


def test_lookup_follows_dotted_paths() -> None:
    row = {
        "choices": {"text": ["x", "y"], "label": ["A", "B"]},
        "opts": [{"text": "p"}, {"text": "q"}],
        "a.b": 1,
        "question": {"stem": "why?"},
    }
    assert lookup(row, "choices.text") == ["x", "y"]
    assert lookup(row, "opts.text") == ["p", "q"]
    assert lookup(row, "opts.1.text") == "q"
    assert lookup(row, "a.b") == 1
    assert lookup(row, "question.stem") == "why?"
    assert repr(lookup(row, "question.body")) == "<missing>"
    assert repr(lookup(row, "opts.5")) == "<missing>"


def test_missing_mapped_field_names_file_row_and_field_with_a_hint(tmp_path: Path) -> None:
    rows = qa_rows(3)
    del rows[2]["answer"]
    write_jsonl(tmp_path / "d.jsonl", rows)
    cfg = config("d.jsonl", fields={"input": "question", "target": "answr"})
    with pytest.raises(ConfigError) as err:
        load_items(cfg, base_dir=tmp_path)
    assert (err.value.line, err.value.field) == (1, "dataset.fields.target")
    assert "did you mean 'answer'" in err.value.message
    with pytest.raises(ConfigError) as err:
        load_items(config("d.jsonl"), base_dir=tmp_path)
    assert err.value.line == 3
    assert f"{tmp_path / 'd.jsonl'}:3: dataset.fields.target" in str(err.value)


def test_nested_choices_and_numeric_labels_become_letters(tmp_path: Path) -> None:
    rows = [
        {
            "id": "n1",
            "q": "a?",
            "choices": {"text": ["w", "x", "y", "z"], "label": ["1", "2", "3", "4"]},
            "key": "3",
        },
        {"id": "n2", "q": "b?", "choices": {"text": ["w", "x", "y"], "label": ["A", "B", "C"]}, "key": "A"},
    ]
    write_jsonl(tmp_path / "arc.jsonl", rows)
    fields = {"id": "id", "input": "q", "choices": "choices.text", "labels": "choices.label", "target": "key"}
    items = load_items(config("arc.jsonl", fields=fields, target_format="letter"), base_dir=tmp_path)
    assert [(i.choices, i.target) for i in items] == [(["w", "x", "y", "z"], "C"), (["w", "x", "y"], "A")]
    index_items = load_items(config("arc.jsonl", fields=fields, target_format="index"), base_dir=tmp_path)
    assert [i.target for i in index_items] == [2, 0]


@pytest.mark.parametrize(
    ("target", "expected"),
    [(1, "B"), ("c", "C"), ("D", "D"), ("three", "C")],
)
def test_letter_target_from_index_letter_or_option_text(tmp_path: Path, target: Any, expected: str) -> None:
    write_jsonl(tmp_path / "d.jsonl", [{"q": "?", "opts": ["one", "two", "three", "four"], "t": target}])
    cfg = config("d.jsonl", fields={"input": "q", "choices": "opts", "target": "t"}, target_format="letter")
    assert load_items(cfg, base_dir=tmp_path)[0].target == expected


@pytest.mark.parametrize(
    ("target", "message"),
    [
        (4, "not one of the 4 choices"),
        ("E", "not one of the 4 choices"),
        ("2", "map fields.labels"),
        (None, "not one of"),
    ],
)
def test_invalid_multiple_choice_target_names_the_row(tmp_path: Path, target: Any, message: str) -> None:
    rows = [
        {"q": "?", "opts": ["a", "b", "c", "d"], "t": 0},
        {"q": "?", "opts": ["a", "b", "c", "d"], "t": target},
    ]
    write_jsonl(tmp_path / "d.jsonl", rows)
    cfg = config("d.jsonl", fields={"input": "q", "choices": "opts", "target": "t"}, target_format="letter")
    with pytest.raises(ConfigError, match=message) as err:
        load_items(cfg, base_dir=tmp_path)
    assert (err.value.line, err.value.field) == (2, "dataset.fields.target")


def test_choices_column_must_be_a_non_empty_list(tmp_path: Path) -> None:
    write_jsonl(tmp_path / "d.jsonl", [{"q": "?", "opts": "a,b", "t": "A"}])
    cfg = config("d.jsonl", fields={"input": "q", "choices": "opts", "target": "t"})
    with pytest.raises(ConfigError, match="must be a non-empty list") as err:
        load_items(cfg, base_dir=tmp_path)
    assert err.value.field == "dataset.fields.choices"


def test_input_must_be_text(tmp_path: Path) -> None:
    write_jsonl(tmp_path / "d.jsonl", [{"q": {"nested": 1}}])
    with pytest.raises(ConfigError, match="expected text, got dict"):
        load_items(config("d.jsonl", fields={"input": "q"}), base_dir=tmp_path)


def test_without_input_mapping_the_input_is_empty_and_fields_carry_the_row(tmp_path: Path) -> None:
    write_jsonl(tmp_path / "d.jsonl", [{"a": 1, "b": "x"}])
    (item,) = load_items(config("d.jsonl", fields={}), base_dir=tmp_path)
    assert (item.input, item.target, item.fields) == ("", None, {"a": 1, "b": "x"})


# --- ids -------------------------------------------------------------------------------------------


def test_content_id_ignores_key_order_and_changes_with_content() -> None:
    assert content_id({"a": 1, "b": [1, 2]}) == content_id({"b": [1, 2], "a": 1})
    assert content_id({"a": 1}) != content_id({"a": 2})
    assert len(content_id({"a": 1})) == 16
    assert content_id({"img": {"bytes": b"\x00\x01"}}) == content_id({"img": {"bytes": b"\x00\x01"}})


def test_hashed_ids_are_stable_and_identical_rows_are_numbered(tmp_path: Path) -> None:
    rows = [{"q": "x"}, {"q": "y"}, {"q": "x"}]
    write_jsonl(tmp_path / "d.jsonl", rows)
    items = load_items(config("d.jsonl", fields={"input": "q"}), base_dir=tmp_path)
    hx = content_id({"q": "x"})
    assert [i.id for i in items] == [hx, content_id({"q": "y"}), f"{hx}-2"]
    again = load_items(config("d.jsonl", fields={"input": "q"}, limit=1), base_dir=tmp_path)
    assert again[0].id == hx


def test_duplicate_id_column_values_are_an_error_naming_both_rows(tmp_path: Path) -> None:
    rows = qa_rows(3)
    rows[2]["id"] = "q0"
    write_jsonl(tmp_path / "d.jsonl", rows)
    with pytest.raises(ConfigError, match=r"duplicate id 'q0' \(also at line 1\)") as err:
        load_items(config("d.jsonl"), base_dir=tmp_path)
    assert err.value.line == 3


def test_numeric_ids_become_strings(tmp_path: Path) -> None:
    write_jsonl(tmp_path / "d.jsonl", [{"id": 7, "question": "q", "answer": 1}])
    assert load_items(config("d.jsonl"), base_dir=tmp_path)[0].id == "7"


def test_items_are_hashable_by_id() -> None:
    item = Item("a", "x", None, None, {"k": [1]})
    assert {item: 1}[Item("a", "x", None, None, {"k": [1]})] == 1


# --- filters, sample, limit ------------------------------------------------------------------------


def test_filters_equals_in_not_in_and_csv_text_matches_numbers(tmp_path: Path) -> None:
    write_jsonl(tmp_path / "d.jsonl", qa_rows(9))
    write_csv(
        tmp_path / "d.csv",
        ["id", "question", "answer", "level"],
        [[f"q{i}", "q", "a", str(i % 3)] for i in range(9)],
    )
    cases = [
        ([{"field": "level", "equals": 1}], ["q1", "q4", "q7"]),
        ([{"field": "level", "not_equals": 1}], ["q0", "q2", "q3", "q5", "q6", "q8"]),
        (
            [{"field": "level", "in": [0, 2]}, {"field": "id", "not_in": ["q0", "q8"]}],
            ["q2", "q3", "q5", "q6"],
        ),
    ]
    for name in ("d.jsonl", "d.csv"):
        for filters, expected in cases:
            assert [i.id for i in load_items(config(name, filters=filters), base_dir=tmp_path)] == expected


def test_filter_on_unknown_column_suggests_one(tmp_path: Path) -> None:
    write_jsonl(tmp_path / "d.jsonl", qa_rows(3))
    with pytest.raises(ConfigError, match="did you mean 'level'") as err:
        load_items(config("d.jsonl", filters=[{"field": "levl", "equals": 1}]), base_dir=tmp_path)
    assert err.value.field == "dataset.filters[0].field"


def test_empty_after_filters_is_an_error(tmp_path: Path) -> None:
    write_jsonl(tmp_path / "d.jsonl", qa_rows(3))
    with pytest.raises(ConfigError, match=r"no rows are left after the filters \(3 rows read\)"):
        load_items(config("d.jsonl", filters=[{"field": "level", "equals": 9}]), base_dir=tmp_path)


def test_sample_is_seeded_in_file_order_and_limit_applies_after(tmp_path: Path) -> None:
    write_jsonl(tmp_path / "d.jsonl", qa_rows(50))
    first = [i.id for i in load_items(config("d.jsonl", sample={"n": 10, "seed": 3}), base_dir=tmp_path)]
    second = [i.id for i in load_items(config("d.jsonl", sample={"n": 10, "seed": 3}), base_dir=tmp_path)]
    other = [i.id for i in load_items(config("d.jsonl", sample={"n": 10, "seed": 4}), base_dir=tmp_path)]
    limited = [
        i.id for i in load_items(config("d.jsonl", sample={"n": 10, "seed": 3}, limit=4), base_dir=tmp_path)
    ]
    assert first == second
    assert first != other
    assert first == sorted(first, key=lambda s: int(s[1:]))
    assert limited == first[:4]


def test_sample_larger_than_the_data_is_an_error(tmp_path: Path) -> None:
    write_jsonl(tmp_path / "d.jsonl", qa_rows(5))
    with pytest.raises(ConfigError, match=r"sample\.n is 6 but only 5 rows are left") as err:
        load_items(config("d.jsonl", sample={"n": 6}), base_dir=tmp_path)
    assert err.value.field == "dataset.sample.n"


@settings(max_examples=60, deadline=None)
@given(population=st.integers(1, 300), data=st.data())
def test_seeded_indices_grow_by_inclusion(population: int, data: st.DataObject) -> None:
    small = data.draw(st.integers(1, population))
    large = data.draw(st.integers(small, population))
    seed = data.draw(st.integers(0, 2**32))
    a, b = seeded_indices(population, small, seed), seeded_indices(population, large, seed)
    assert len(a) == len(set(a)) == small
    assert set(a) <= set(b)
    assert all(0 <= i < population for i in b)


# --- config validation -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({}, "exactly one of path"),
        ({"path": "a.jsonl", "hf": {"path": "x/y", "split": "test"}}, "exactly one of path"),
        ({"hf": {"path": "x/y"}}, "needs a split"),
        ({"path": "a.jsonl", "target_format": "letter"}, "needs fields.choices"),
        ({"path": "a.jsonl", "filters": [{"field": "x", "equals": 1, "in": [1]}]}, "exactly one of equals"),
        ({"path": "a.jsonl", "filters": [{"field": "x"}]}, "got none"),
        ({"path": "a.jsonl", "fields": {"inputs": "q"}}, "Extra inputs are not permitted"),
        ({"path": "a.jsonl", "limit": 0}, "greater than or equal to 1"),
        ({"path": "a.jsonl", "sample": {"n": 0}}, "greater than or equal to 1"),
        (
            {"path": "a.jsonl", "few_shot": {"n": 2, "path": "b.jsonl", "hf": {"path": "x"}}},
            "either path or hf",
        ),
        ({"path": "a.jsonl", "format": "xml"}, "'jsonl', 'json', 'csv', 'tsv', 'parquet' or 'arrow'"),
    ],
)
def test_invalid_dataset_configs_are_refused(data: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        DatasetConfig.model_validate(data)


def test_filter_equals_null_counts_as_given() -> None:
    cfg = DatasetConfig.model_validate({"path": "a.jsonl", "filters": [{"field": "x", "equals": None}]})
    assert cfg.filters[0].operators() == ["equals"]


def test_config_exports_a_described_json_schema() -> None:
    schema = DatasetConfig.model_json_schema()
    assert all("description" in prop for prop in schema["properties"].values())
    assert "in" in schema["$defs"]["FilterConfig"]["properties"]


# --- media -----------------------------------------------------------------------------------------


def test_local_images_become_data_uris_and_urls_pass_through(tmp_path: Path) -> None:
    (tmp_path / "img").mkdir()
    (tmp_path / "img" / "a.png").write_bytes(PNG)
    (tmp_path / "img" / "noext").write_bytes(PNG)
    rows = [
        {"q": "1", "img": "img/a.png"},
        {"q": "2", "img": ["https://example.com/x.jpg", "img/noext"]},
        {"q": "3", "img": None},
    ]
    write_jsonl(tmp_path / "d.jsonl", rows)
    items = load_items(config("d.jsonl", fields={"input": "q", "images": "img"}), base_dir=tmp_path)
    uri = "data:image/png;base64," + base64.b64encode(PNG).decode()
    assert [i.images for i in items] == [[uri], ["https://example.com/x.jpg", uri], []]


def test_oversized_image_is_refused_before_reading(tmp_path: Path) -> None:
    (tmp_path / "big.png").write_bytes(PNG + b"\x00" * 2000)
    write_jsonl(tmp_path / "d.jsonl", [{"q": "1", "img": "big.png"}])
    cfg = config("d.jsonl", fields={"input": "q", "images": "img"}, max_media_bytes=1024)
    with pytest.raises(ConfigError, match=r"2\.0 KiB, over the 1\.0 KiB cap") as err:
        load_items(cfg, base_dir=tmp_path)
    assert (err.value.line, err.value.field) == (1, "dataset.fields.images")


def test_missing_image_file_and_wrong_kind_are_named(tmp_path: Path) -> None:
    (tmp_path / "clip.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42")
    write_jsonl(tmp_path / "d.jsonl", [{"q": "1", "img": "gone.png"}, {"q": "2", "img": "clip.mp4"}])
    with pytest.raises(ConfigError, match="image file not found"):
        load_items(config("d.jsonl", fields={"input": "q", "images": "img"}), base_dir=tmp_path)
    with pytest.raises(ConfigError, match="not a recognised image") as err:
        load_items(
            config(
                "d.jsonl", fields={"input": "q", "images": "img"}, filters=[{"field": "q", "equals": "2"}]
            ),
            base_dir=tmp_path,
        )
    assert err.value.line == 2


def test_videos_and_oversized_data_uris(tmp_path: Path) -> None:
    (tmp_path / "clip.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42")
    big = "data:image/png;base64," + "A" * 4000
    write_jsonl(tmp_path / "d.jsonl", [{"q": "1", "v": "clip.mp4", "img": big}])
    (item,) = load_items(config("d.jsonl", fields={"input": "q", "videos": "v"}), base_dir=tmp_path)
    assert item.videos[0].startswith("data:video/mp4;base64,")
    with pytest.raises(ConfigError, match=r"image data URI is 2\.9 KiB"):
        load_items(
            config("d.jsonl", fields={"input": "q", "images": "img"}, max_media_bytes=1000), base_dir=tmp_path
        )


def test_media_files_are_read_only_for_selected_rows(tmp_path: Path) -> None:
    write_jsonl(tmp_path / "d.jsonl", [{"q": "1", "img": "https://x/a.png"}, {"q": "2", "img": "gone.png"}])
    items = load_items(config("d.jsonl", fields={"input": "q", "images": "img"}, limit=1), base_dir=tmp_path)
    assert items[0].images == ["https://x/a.png"]


# --- Arrow, Parquet and the hub (through HF datasets) ----------------------------------------------


@pytest.fixture
def hf_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    import datasets

    cache = tmp_path / "hf-cache"
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", cache)
    return cache


def test_parquet_file_and_arrow_directory_with_splits(tmp_path: Path, hf_cache: Path) -> None:
    import datasets

    rows = qa_rows(4)
    datasets.Dataset.from_list(rows).to_parquet(str(tmp_path / "d.parquet"))
    assert [i.id for i in load_items(config("d.parquet"), base_dir=tmp_path)] == ["q0", "q1", "q2", "q3"]
    dd = datasets.DatasetDict(
        {"test": datasets.Dataset.from_list(rows[:3]), "dev": datasets.Dataset.from_list(rows[3:])}
    )
    dd.save_to_disk(str(tmp_path / "arrow"))
    assert [i.id for i in load_items(config("arrow", split="dev"), base_dir=tmp_path)] == ["q3"]
    with pytest.raises(ConfigError, match="has several splits") as err:
        load_items(config("arrow"), base_dir=tmp_path)
    assert err.value.allowed == ["dev", "test"]
    with pytest.raises(ConfigError, match="did you mean 'test'"):
        load_items(config("arrow", split="tset"), base_dir=tmp_path)


def test_columnar_row_errors_name_the_row_index(tmp_path: Path, hf_cache: Path) -> None:
    import datasets

    datasets.Dataset.from_list(
        [{"id": "a", "question": "q", "answer": "1"}, {"id": "b", "question": None, "answer": "2"}]
    ).save_to_disk(str(tmp_path / "arrow"))
    with pytest.raises(ConfigError, match="row 2: expected text, got NoneType") as err:
        load_items(config("arrow"), base_dir=tmp_path)
    assert err.value.line is None


def test_hub_spec_reads_a_local_folder_of_data_files(tmp_path: Path, hf_cache: Path) -> None:
    import datasets

    folder = tmp_path / "hubcopy"
    folder.mkdir()
    datasets.Dataset.from_list(qa_rows(2)).to_parquet(str(folder / "test.parquet"))
    datasets.Dataset.from_list(qa_rows(3)).to_parquet(str(folder / "train.parquet"))
    cfg = DatasetConfig.model_validate(
        {
            "hf": {"path": str(folder), "split": "test"},
            "fields": {"id": "id", "input": "question", "target": "answer"},
        }
    )
    items = load_items(cfg, base_dir=tmp_path)
    assert [i.id for i in items] == ["q0", "q1"]
    assert items[0].source == f"hf:{folder}[test]"


def test_hub_offline_without_cache_says_what_to_download(tmp_path: Path) -> None:
    code = (
        "from pathlib import Path\n"
        "from harness.datasets import DatasetConfig, load_items\n"
        "from harness.errors import ConfigError\n"
        "cfg = DatasetConfig.model_validate({'hf': {'path': 'openai/gsm8k', 'name': 'main', 'split': 'test'}})\n"
        "try:\n"
        "    load_items(cfg, base_dir=Path('.'))\n"
        "except ConfigError as exc:\n"
        "    print(exc.field)\n"
        "    print(exc.message)\n"
    )
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_HOME": str(tmp_path / "hf-home")}
    env.pop("HF_DATASETS_CACHE", None)
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60, check=True
    )
    field, message = out.stdout.split("\n", 1)
    assert field == "dataset.hf"
    assert "offline mode is on (HF_HUB_OFFLINE)" in message
    assert "datasets.load_dataset('openai/gsm8k', 'main', split='test').save_to_disk('gsm8k-test')" in message
    assert "path: gsm8k-test" in message


def test_hub_unreachable_fails_fast_and_restores_online_mode(
    tmp_path: Path, hf_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import datasets
    import huggingface_hub.constants

    for name in (
        "HF_HUB_OFFLINE",
        "HF_DATASETS_OFFLINE",
        "HTTPS_PROXY",
        "https_proxy",
        "ALL_PROXY",
        "all_proxy",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{_closed_port()}")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "hub-cache"))
    before = (datasets.config.HF_HUB_OFFLINE, huggingface_hub.constants.HF_HUB_OFFLINE)
    cfg = DatasetConfig.model_validate({"hf": {"path": "nobody/nothing", "split": "test", "revision": "v1"}})
    with pytest.raises(ConfigError) as err:
        load_items(cfg, base_dir=tmp_path)
    assert err.value.field == "dataset.hf"
    assert "the Hugging Face Hub (127.0.0.1) is unreachable" in err.value.message
    assert (
        "load_dataset('nobody/nothing', revision='v1', split='test').save_to_disk('nothing-test')"
        in err.value.message
    )
    assert before == (datasets.config.HF_HUB_OFFLINE, huggingface_hub.constants.HF_HUB_OFFLINE)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_hub_reachable_probes_the_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    from harness.datasets.hf import hub_reachable

    for name in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{server.getsockname()[1]}")
        assert hub_reachable(timeout_s=2.0) is True
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{_closed_port()}")
    assert hub_reachable(timeout_s=2.0) is False


# --- few-shot --------------------------------------------------------------------------------------


def test_few_shot_from_another_file_is_seeded(tmp_path: Path) -> None:
    write_jsonl(tmp_path / "test.jsonl", qa_rows(3))
    write_jsonl(tmp_path / "train.jsonl", [{**r, "id": f"t{i}"} for i, r in enumerate(qa_rows(20))])
    cfg = config("test.jsonl", few_shot={"path": "train.jsonl", "n": 3, "seed": 1})
    shots = load_few_shot(cfg, base_dir=tmp_path)
    assert [s.id for s in shots] == [f"t{i}" for i in seeded_indices(20, 3, 1)]
    assert shots[0].input.startswith("What is")


def test_few_shot_from_the_main_file_excludes_evaluated_items(tmp_path: Path) -> None:
    write_jsonl(tmp_path / "d.jsonl", qa_rows(6))
    cfg = config("d.jsonl", limit=4, few_shot={"n": 2})
    shots = load_few_shot(cfg, base_dir=tmp_path)
    assert sorted(s.id for s in shots) == ["q4", "q5"]
    too_many = config("d.jsonl", limit=4, few_shot={"n": 3})
    with pytest.raises(ConfigError, match="only 2 usable rows once the evaluated rows are excluded"):
        load_few_shot(too_many, base_dir=tmp_path)


def test_few_shot_from_another_split_of_an_arrow_directory(tmp_path: Path, hf_cache: Path) -> None:
    import datasets

    rows = qa_rows(5)
    datasets.DatasetDict(
        {"test": datasets.Dataset.from_list(rows[:2]), "dev": datasets.Dataset.from_list(rows[2:])}
    ).save_to_disk(str(tmp_path / "arrow"))
    cfg = config("arrow", split="test", few_shot={"split": "dev", "n": 3})
    assert [s.id for s in load_few_shot(cfg, base_dir=tmp_path)] == ["q2", "q3", "q4"]


def test_no_few_shot_section_means_no_examples(tmp_path: Path) -> None:
    assert load_few_shot(config("unused.jsonl"), base_dir=tmp_path) == []


# --- start-up cost ---------------------------------------------------------------------------------


def test_loading_jsonl_does_not_import_heavy_libraries(tmp_path: Path) -> None:
    write_jsonl(tmp_path / "d.jsonl.gz", qa_rows(3))
    code = (
        "import sys\nfrom pathlib import Path\n"
        "from harness.datasets import DatasetConfig, load_items\n"
        f"items = load_items(DatasetConfig(path='d.jsonl.gz'), base_dir=Path({str(tmp_path)!r}))\n"
        "print(len(items), sorted(m for m in ('datasets', 'pandas', 'pyarrow', 'matplotlib', 'scipy') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.strip() == "3 []"
