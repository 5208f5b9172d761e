"""Price tables (configs/prices.yaml, keyed by model id, with a `default` entry) and usage -> cost.

`cost_usd` is pure; `load_prices` reads the table once per file change. Nothing here sends requests or
knows about records.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harness.config import PriceConfig
from harness.errors import ConfigError
from harness.paths import configs_dir

DEFAULT_KEY = "default"

_cache: dict[str, tuple[int, dict[str, PriceConfig]]] = {}


def prices_path() -> Path:
    return configs_dir() / "prices.yaml"


def load_price_table(path: Path | None = None) -> dict[str, PriceConfig]:
    """Every entry of a price file, validated; cached until the file's mtime changes."""
    from pydantic import ValidationError

    path = path or prices_path()
    try:
        mtime = path.stat().st_mtime_ns
    except FileNotFoundError:
        raise ConfigError("price table not found", file=str(path)) from None
    cached = _cache.get(str(path))
    if cached and cached[0] == mtime:
        return cached[1]
    from harness.yamldoc import read_yaml  # the guarded reader: encoding, alias bombs, NaN prices

    doc = read_yaml(path)
    raw: Any = doc.data
    if not isinstance(raw, dict):
        raise ConfigError("must be a mapping of model id -> prices", file=str(path))
    table: dict[str, PriceConfig] = {}
    for model_id, entry in raw.items():
        try:
            table[str(model_id)] = PriceConfig.model_validate(entry)
        except ValidationError as exc:
            first = exc.errors()[0]
            field = ".".join([str(model_id), *(str(p) for p in first["loc"])])
            raise ConfigError(
                first["msg"],
                file=doc.file,
                line=doc.line((str(model_id), *first["loc"])),
                field=field,
                allowed=sorted(PriceConfig.model_fields),
            ) from exc
    _cache[str(path)] = (mtime, table)
    return table


def load_prices(
    model_id: str, override: PriceConfig | None = None, *, path: Path | None = None
) -> PriceConfig:
    """The prices for `model_id`: `override` if given, else its entry in prices.yaml, else `default`."""
    if override is not None:
        return override
    table = load_price_table(path)
    found = table.get(model_id) or table.get(DEFAULT_KEY)
    if found is None:
        raise ConfigError(
            f"no price for model {model_id!r} and no {DEFAULT_KEY!r} entry",
            file=str(path or prices_path()),
            field=model_id,
            allowed=sorted(table),
        )
    return found


def cost_usd(
    prices: PriceConfig, *, prompt_tokens: int, completion_tokens: int, thinking_tokens: int
) -> float:
    """USD for one result. `completion_tokens` includes `thinking_tokens`, as the API reports them;
    thinking is priced at `thinking_per_mtok` (the completion price when unset)."""
    if min(prompt_tokens, completion_tokens, thinking_tokens) < 0:
        raise ValueError("token counts must be >= 0")
    if thinking_tokens > completion_tokens:
        raise ValueError(f"thinking_tokens ({thinking_tokens}) > completion_tokens ({completion_tokens})")
    thinking_price = (
        prices.completion_per_mtok if prices.thinking_per_mtok is None else prices.thinking_per_mtok
    )
    return (
        prompt_tokens * prices.prompt_per_mtok
        + (completion_tokens - thinking_tokens) * prices.completion_per_mtok
        + thinking_tokens * thinking_price
    ) / 1_000_000
