"""Everything read through Hugging Face `datasets`: Parquet and Arrow files, save_to_disk directories,
folders of data files, and hub data sets. Imported only for those sources (the import costs ~0.7 s).
Offline, or with the hub unreachable and no cached copy, it fails fast with a ConfigError saying what to
download and where to put it, instead of the hub client's retries (24 s without DNS on this machine).
"""

from __future__ import annotations

import contextlib
import difflib
import logging
import os
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from harness.datasets.config import HubSpec, LocalFormat
from harness.datasets.readers import RawRows
from harness.errors import ConfigError

PROBE_TIMEOUT_S = 3.0
_TRUTHY = {"1", "true", "yes", "on"}


def read_columnar(path: Path, fmt: LocalFormat) -> RawRows:
    datasets = _import_datasets()
    try:
        if fmt == "parquet":
            ds = datasets.load_dataset("parquet", data_files=str(path), split="train")
        else:
            ds = datasets.Dataset.from_file(str(path))
    except Exception as exc:  # datasets/pyarrow raise many types for a corrupt file
        raise ConfigError(f"cannot read {fmt} file: {exc}", file=str(path)) from exc
    return RawRows(str(path), _to_rows(ds), "row", path.parent)


def read_directory(path: Path, *, split: str | None, where: str) -> RawRows:
    """A save_to_disk directory (Dataset or DatasetDict), or a folder of data files such as a
    `huggingface-cli download` of a hub data set (splits inferred from the file names)."""
    datasets = _import_datasets()
    if (path / "dataset_dict.json").is_file() or (path / "state.json").is_file():
        try:
            loaded = datasets.load_from_disk(str(path))
        except Exception as exc:  # a damaged save_to_disk directory
            raise ConfigError(
                f"cannot load the Arrow directory {path}: {exc}", field=f"{where}.path"
            ) from exc
        ds = _pick_split(loaded, split, source=str(path), where=where)
    else:
        ds = _load(str(path), None, split, None, source=str(path), where=where, field=f"{where}.path")
    shown = f"{path}[{split}]" if split else str(path)
    return RawRows(shown, _to_rows(ds), "row", path)


def read_hub(spec: HubSpec, *, split: str | None, where: str, base_dir: Path) -> RawRows:
    """Rows of a hub data set (a cached copy is used offline). `base_dir` resolves media paths."""
    split = spec.split or split
    source = (
        f"hf:{spec.path}"
        + (f"/{spec.name}" if spec.name else "")
        + (f"@{spec.revision}" if spec.revision else "")
    )
    offline = not Path(spec.path).exists() and not _env_offline() and not hub_reachable()
    with _forced_offline(offline):
        ds = _load(
            spec.path, spec.name, split, spec.revision, source=source, where=where, field=f"{where}.hf"
        )
    return RawRows(f"{source}[{split}]", _to_rows(ds), "row", base_dir)


def hub_reachable(timeout_s: float = PROBE_TIMEOUT_S) -> bool:
    """Can a TCP connection reach the hub endpoint? True behind a proxy, which we cannot judge."""
    if any(os.environ.get(v) for v in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy")):
        return True
    url = urlsplit(os.environ.get("HF_ENDPOINT", "https://huggingface.co"))
    port = url.port or (80 if url.scheme == "http" else 443)
    try:
        with socket.create_connection((url.hostname or "huggingface.co", port), timeout=timeout_s):
            return True
    except OSError:
        return False


def _load(
    path: str,
    name: str | None,
    split: str | None,
    revision: str | None,
    *,
    source: str,
    where: str,
    field: str,
) -> Any:
    datasets = _import_datasets()
    try:
        # Naming the split up front spares online users the download of every other split.
        loaded = datasets.load_dataset(path, name, split=split, revision=revision)
    except ValueError as exc:
        if "split" in str(exc).lower():
            raise ConfigError(f"{source}: {exc}", field=f"{where}.split") from exc
        raise ConfigError(f"cannot load {source}: {exc}", field=field) from exc
    except Exception as exc:  # the hub client raises many unrelated types; classify by what we know
        if _env_offline() or _is_network_error(exc):
            raise ConfigError(_offline_message(path, name, split, revision, exc), field=field) from exc
        raise ConfigError(f"cannot load {source}: {type(exc).__name__}: {exc}", field=field) from exc
    return _pick_split(loaded, split, source=source, where=where)


def _pick_split(loaded: Any, split: str | None, *, source: str, where: str) -> Any:
    datasets = _import_datasets()
    if isinstance(loaded, datasets.Dataset):
        return loaded
    available = sorted(loaded.keys())
    if split is None:
        if len(available) == 1:
            return loaded[available[0]]
        raise ConfigError(
            f"{source} has several splits; choose one with split", field=f"{where}.split", allowed=available
        )
    if split not in loaded:
        hint = difflib.get_close_matches(split, available, n=1)
        extra = f" (did you mean {hint[0]!r}?)" if hint else ""
        raise ConfigError(
            f"{source} has no split {split!r}{extra}", field=f"{where}.split", allowed=available
        )
    return loaded[split]


def _to_rows(ds: Any) -> list[tuple[int, dict[str, Any]]]:
    # Undecoded media stay {"bytes", "path"} dicts, which media.py turns into data URIs, instead of PIL images.
    for column, feature in ds.features.items():
        if type(feature).__name__ in ("Image", "Video", "Audio") and getattr(feature, "decode", False):
            ds = ds.cast_column(column, type(feature)(decode=False))
    return [(number, row) for number, row in enumerate(ds.to_list(), start=1)]


def _import_datasets() -> Any:
    import datasets

    datasets.disable_progress_bars()
    datasets.logging.set_verbosity_error()
    logging.getLogger("huggingface_hub").setLevel(logging.ERROR)  # its retry warnings would flood stderr
    return datasets


@contextlib.contextmanager
def _forced_offline(active: bool) -> Iterator[None]:
    """Serve a hub data set from the cache only; both libraries read these flags at call time."""
    if not active:
        yield
        return
    import datasets
    import huggingface_hub.constants

    saved = (datasets.config.HF_HUB_OFFLINE, huggingface_hub.constants.HF_HUB_OFFLINE)
    datasets.config.HF_HUB_OFFLINE = huggingface_hub.constants.HF_HUB_OFFLINE = True
    try:
        yield
    finally:
        datasets.config.HF_HUB_OFFLINE, huggingface_hub.constants.HF_HUB_OFFLINE = saved


def _env_offline() -> bool:
    return any(os.environ.get(v, "").lower() in _TRUTHY for v in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE"))


def _is_network_error(exc: BaseException) -> bool:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ConnectionError | TimeoutError | socket.gaierror) or type(seen).__name__ in (
            "OfflineModeIsEnabled",
            "LocalEntryNotFoundError",
            "ConnectError",
            "ConnectTimeout",
        ):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _offline_message(
    path: str, name: str | None, split: str | None, revision: str | None, exc: BaseException
) -> str:
    args = ", ".join(repr(a) for a in (path, name) if a is not None)
    if revision:
        args += f", revision={revision!r}"
    args += f", split={split!r}" if split else ""
    folder = path.rsplit("/", 1)[-1] + (f"-{split}" if split else "")
    host = urlsplit(os.environ.get("HF_ENDPOINT", "https://huggingface.co")).hostname
    why = (
        "offline mode is on (HF_HUB_OFFLINE)"
        if _env_offline()
        else f"the Hugging Face Hub ({host}) is unreachable"
    )
    return (
        f"cannot load the hub data set {path!r}: {why} and it is not in the local cache ({exc}). "
        f'On a machine with network, run: python -c "import datasets; '
        f"datasets.load_dataset({args}).save_to_disk('{folder}')\", copy the '{folder}' directory next to "
        f"the suite file and replace `hf:` with `path: {folder}` (or run once online to fill the cache under "
        f"$HF_HOME, default ~/.cache/huggingface)."
    )
