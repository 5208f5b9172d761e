"""Data sets: a suite's `dataset:` section (local JSONL / JSON / CSV / Parquet / Arrow, or the Hugging Face
Hub) becomes a list of `Item`s with stable ids. It reads and checks data, never renders prompts or sends
requests; HF `datasets` is imported only for Parquet, Arrow and hub sources (see `readers`).
"""

from __future__ import annotations

from harness.datasets.config import (
    DEFAULT_MAX_MEDIA_BYTES,
    DatasetConfig,
    FewShotConfig,
    FieldMap,
    FilterConfig,
    HubSpec,
    SampleConfig,
)
from harness.datasets.items import Item, content_id, lookup
from harness.datasets.load import load_few_shot, load_items, seeded_indices

__all__ = [
    "DEFAULT_MAX_MEDIA_BYTES",
    "DatasetConfig",
    "FewShotConfig",
    "FieldMap",
    "FilterConfig",
    "HubSpec",
    "Item",
    "SampleConfig",
    "content_id",
    "load_few_shot",
    "load_items",
    "lookup",
    "seeded_indices",
]
