"""Turn a row's image / video references into what `inputs.images` / `inputs.videos` carry: URLs, data
URIs and Runware media UUIDs pass through; local files become base64 data URIs after their size is
checked against the cap (before they are read). Never fetches a URL.
"""

from __future__ import annotations

import base64
import mimetypes
import re
from pathlib import Path
from typing import Any, Literal

MediaKind = Literal["images", "videos"]

_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_DATA_URI = re.compile(r"^data:([\w.+-]+/[\w.+-]+)?(;[\w-]+=[\w.-]+)*;base64,", re.ASCII)
_MAGIC: tuple[tuple[bytes, int, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", 0, "image/png"),
    (b"\xff\xd8\xff", 0, "image/jpeg"),
    (b"GIF87a", 0, "image/gif"),
    (b"GIF89a", 0, "image/gif"),
    (b"WEBP", 8, "image/webp"),
    (b"BM", 0, "image/bmp"),
    (b"ftyp", 4, "video/mp4"),
    (b"\x1a\x45\xdf\xa3", 0, "video/webm"),
)


class MediaError(ValueError):
    """A media reference that cannot be sent; the caller adds the file, row and field."""


def resolve_media(value: Any, *, kind: MediaKind, base_dir: Path, max_bytes: int) -> list[str]:
    """One cell of an images / videos column -> the strings to send. None or "" means no media."""
    if value is None or value == "":
        return []
    values = value if isinstance(value, list) else [value]
    return [_resolve_one(v, kind=kind, base_dir=base_dir, max_bytes=max_bytes) for v in values]


def _resolve_one(value: Any, *, kind: MediaKind, base_dir: Path, max_bytes: int) -> str:
    noun = kind[:-1]
    if isinstance(value, dict) and ("bytes" in value or "path" in value):
        return _from_hf_feature(value, kind=kind, base_dir=base_dir, max_bytes=max_bytes)
    if not isinstance(value, str) or not value.strip():
        raise MediaError(f"{noun} reference must be a URL, data URI, UUID or file path, got {value!r}")
    text = value.strip()
    if text.startswith(("http://", "https://")) or _UUID.match(text):
        return text
    if text.startswith("data:"):
        match = _DATA_URI.match(text)
        if match is None:
            raise MediaError(f"{noun} data URI must be base64-encoded (data:<mime>;base64,...)")
        size = (len(text) - match.end()) * 3 // 4
        _check_size(size, max_bytes, what=f"{noun} data URI")
        return text
    return _from_file(Path(text).expanduser(), kind=kind, base_dir=base_dir, max_bytes=max_bytes)


def _from_file(path: Path, *, kind: MediaKind, base_dir: Path, max_bytes: int) -> str:
    noun = kind[:-1]
    full = path if path.is_absolute() else base_dir / path
    if not full.is_file():
        raise MediaError(f"{noun} file not found: {full} (relative paths are read from {base_dir})")
    _check_size(full.stat().st_size, max_bytes, what=f"{noun} file {full}")
    data = full.read_bytes()
    mime = _mime_type(full.name, data, kind=kind)
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def _from_hf_feature(value: dict[str, Any], *, kind: MediaKind, base_dir: Path, max_bytes: int) -> str:
    """An undecoded datasets Image / Video cell: {"bytes": b"..." or None, "path": "..." or None}."""
    data = value.get("bytes")
    name = value.get("path") or ""
    if data is None:
        if not name:
            raise MediaError(f"{kind[:-1]} cell has neither bytes nor a path")
        return _resolve_one(name, kind=kind, base_dir=base_dir, max_bytes=max_bytes)
    _check_size(len(data), max_bytes, what=f"{kind[:-1]} {name or '(embedded bytes)'}")
    mime = _mime_type(name, data, kind=kind)
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def _check_size(size: int, max_bytes: int, *, what: str) -> None:
    if size > max_bytes:
        raise MediaError(
            f"{what} is {_human(size)}, over the {_human(max_bytes)} cap (raise dataset.max_media_bytes, "
            "or host the file and give its URL)"
        )


def _mime_type(name: str, data: bytes, *, kind: MediaKind) -> str:
    guessed, _ = mimetypes.guess_type(name) if name else (None, None)
    if guessed is None:
        guessed = next((mime for magic, at, mime in _MAGIC if data[at : at + len(magic)] == magic), None)
    prefix = "image/" if kind == "images" else "video/"
    if guessed is None or not guessed.startswith(prefix):
        allowed = ".png, .jpg, .gif, .webp, .bmp" if kind == "images" else ".mp4, .webm, .mov, .mkv"
        raise MediaError(
            f"{name or 'embedded bytes'} is not a recognised {kind[:-1]} (type {guessed}; allowed: {allowed})"
        )
    return guessed


def _human(size: int) -> str:
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):.1f} MiB"
    if size >= 1024:
        return f"{size / 1024:.1f} KiB"
    return f"{size} B"
