"""The sync hot path's shortcuts give what the general code gives: task UUIDs, the one-item reply."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from harness.providers._replies import collect_items, single_item
from harness.providers.runware import new_task_uuid


def test_task_uuids_are_version_4_and_unique() -> None:
    made = [new_task_uuid() for _ in range(2000)]
    assert len(set(made)) == len(made)
    for text in made[:200]:
        parsed = uuid.UUID(text)
        assert parsed.version == 4
        assert parsed.variant == uuid.RFC_4122
        assert str(parsed) == text


U = "6f1c1f5e-4c4e-4a52-9d8b-0b8f3f2b9a10"
ITEM = {"taskType": "textInference", "taskUUID": U, "text": "4", "finishReason": "stop"}


@pytest.mark.parametrize(
    "payload",
    [
        {"data": [ITEM]},
        {"data": [{k: v for k, v in ITEM.items() if k != "taskUUID"}]},
    ],
)
def test_a_plain_one_item_reply_takes_the_shortcut(payload: Any) -> None:
    item = single_item(payload, U)
    assert item is not None
    assert item["text"] == "4"
    assert collect_items(payload, [U], secret=None)[U] == ([item], None)


@pytest.mark.parametrize(
    "payload",
    [
        {"data": [ITEM], "errors": [{"code": "x", "message": "y"}]},
        {"data": [ITEM, ITEM]},
        {"data": [{**ITEM, "taskUUID": "other"}]},
        {"data": [{**ITEM, "status": "error"}]},
        {"data": [{**ITEM, "taskUUID": None}]},
        {"data": ITEM},
        [ITEM],
        {"errors": [{"code": "invalidApiKey", "message": "no"}]},
    ],
)
def test_anything_else_goes_the_general_way(payload: Any) -> None:
    assert single_item(payload, U) is None
