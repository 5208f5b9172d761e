"""Read raw rows from local files; knows nothing of field mappings. JSONL / JSON / CSV / TSV are read with
the standard library because `import datasets` alone costs 0.6-0.9 s and loading the 1,319-row GSM8K
JSONL through it 0.12-0.27 s more (2 cores), against 7 ms for gzip + orjson: that would dominate a 2 s
run. Parquet, Arrow and the hub go through `datasets`, in `hf.py`, imported only for them.
"""

from __future__ import annotations

import bz2
import csv
import gzip
import io
import lzma
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import orjson

from harness.datasets.config import LocalFormat
from harness.errors import ConfigError

_DECOMPRESSORS: dict[str, Callable[[bytes], bytes]] = {
    ".gz": gzip.decompress,
    ".bz2": bz2.decompress,
    ".xz": lzma.decompress,
}
_EXTENSIONS: dict[str, LocalFormat] = {
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "json",
    ".csv": "csv",
    ".tsv": "tsv",
    ".parquet": "parquet",
    ".arrow": "arrow",
}


@dataclass(frozen=True, slots=True)
class RawRows:
    """Rows as read, each with its 1-based position: a line number for text files, a row index otherwise."""

    source: str
    rows: list[tuple[int, dict[str, Any]]]
    unit: Literal["line", "row"]
    base_dir: Path


def read_local(path: Path, *, fmt: LocalFormat | None, split: str | None, where: str) -> RawRows:
    """Rows of a local file or directory. `where` is the config section named in errors (`dataset`)."""
    if not path.exists():
        raise ConfigError(f"no such file or directory: {path}", field=f"{where}.path")
    if path.is_dir():
        from harness.datasets.hf import read_directory

        return read_directory(path, split=split, where=where)
    fmt = fmt or detect_format(path, where=where)
    if fmt in ("parquet", "arrow"):
        from harness.datasets.hf import read_columnar

        return read_columnar(path, fmt)
    try:
        data = path.read_bytes()
        decompress = _DECOMPRESSORS.get(path.suffix.lower())
        if decompress is not None:
            data = decompress(data)
    except (OSError, EOFError, lzma.LZMAError) as exc:  # gzip.BadGzipFile is an OSError
        raise ConfigError(f"cannot read {path}: {exc}", field=f"{where}.path") from exc
    if fmt == "jsonl":
        return RawRows(str(path), _parse_jsonl(data, str(path)), "line", path.parent)
    if fmt == "json":
        return _parse_json(data, path)
    return RawRows(str(path), _parse_csv(data, str(path), "\t" if fmt == "tsv" else ","), "line", path.parent)


def detect_format(path: Path, *, where: str) -> LocalFormat:
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] in _DECOMPRESSORS:
        suffixes = suffixes[:-1]
    if suffixes and suffixes[-1] in _EXTENSIONS:
        return _EXTENSIONS[suffixes[-1]]
    raise ConfigError(
        f"cannot tell the format of {path.name} from its extension; set {where}.format",
        field=f"{where}.format",
        allowed=sorted(
            {*_EXTENSIONS, *(e + c for e in (".jsonl", ".json", ".csv", ".tsv") for c in _DECOMPRESSORS)}
        ),
    )


def _parse_jsonl(data: bytes, source: str) -> list[tuple[int, dict[str, Any]]]:
    rows: list[tuple[int, dict[str, Any]]] = []
    for number, line in enumerate(data.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            value = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            raise ConfigError(f"line is not valid JSON: {exc}", file=source, line=number) from exc
        if not isinstance(value, dict):
            raise ConfigError(
                f"each line must be a JSON object, got {type(value).__name__}", file=source, line=number
            )
        rows.append((number, value))
    return rows


def _parse_json(data: bytes, path: Path) -> RawRows:
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError:
        # Many ".json" files are JSON Lines; accept them when every line parses.
        return RawRows(str(path), _parse_jsonl(data, str(path)), "line", path.parent)
    if isinstance(value, dict) and len(value) == 1 and isinstance(next(iter(value.values())), list):
        value = next(iter(value.values()))  # {"data": [...]}, a common wrapper
    if not isinstance(value, list):
        raise ConfigError(
            f"{path}: a JSON data file must hold a list of objects (or JSON Lines), got {type(value).__name__}"
        )
    rows: list[tuple[int, dict[str, Any]]] = []
    for number, row in enumerate(value, start=1):
        if not isinstance(row, dict):
            raise ConfigError(f"row {number} must be a JSON object, got {type(row).__name__}", file=str(path))
        rows.append((number, row))
    return RawRows(str(path), rows, "row", path.parent)


def _parse_csv(data: bytes, source: str, delimiter: str) -> list[tuple[int, dict[str, Any]]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"not UTF-8 text: {exc}", file=source) from exc
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter, restkey="\0extra")
    if not reader.fieldnames:
        raise ConfigError("no header row", file=source, line=1)
    duplicates = sorted({n for n in reader.fieldnames if reader.fieldnames.count(n) > 1})
    if duplicates:
        raise ConfigError(
            f"duplicate column names in the header: {', '.join(duplicates)}", file=source, line=1
        )
    rows: list[tuple[int, dict[str, Any]]] = []
    start = reader.line_num + 1
    for row in reader:
        if "\0extra" in row:
            raise ConfigError(
                f"row has more cells than the header's {len(reader.fieldnames)}", file=source, line=start
            )
        # A short row leaves None in its missing cells: drop them so they read as missing columns.
        rows.append((start, {k: v for k, v in row.items() if v is not None}))
        start = reader.line_num + 1
    return rows
