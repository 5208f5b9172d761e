"""SSEDecoder: framing only, whatever way the bytes are split."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from harness.providers.sse import DONE, SSEDecoder

WIRE = (
    b": ping\n\n"
    b'data: {"delta":{"text":"Hel"}}\n\n'
    b"event: message\r\n"
    b'data: {"delta":{"text":"lo"}}\r\n\r\n'
    b"id: 7\n"
    b"data: line one\n"
    b"data: line two\n\n"
    b"data: [DONE]\n\n"
)
EXPECTED = [b'{"delta":{"text":"Hel"}}', b'{"delta":{"text":"lo"}}', b"line one\nline two", DONE]


def decode(chunks: list[bytes]) -> list[bytes]:
    decoder = SSEDecoder()
    events: list[bytes] = []
    for chunk in chunks:
        events.extend(decoder.feed(chunk))
    events.extend(decoder.close())
    return events


def test_whole_body_in_one_chunk() -> None:
    assert decode([WIRE]) == EXPECTED


@given(st.lists(st.integers(min_value=0, max_value=len(WIRE)), max_size=12))
def test_any_split_gives_the_same_events(cuts: list[int]) -> None:
    points = sorted(set(cuts))
    chunks = [WIRE[a:b] for a, b in zip([0, *points], [*points, len(WIRE)], strict=True)]
    assert decode(chunks) == EXPECTED


def test_comments_and_blank_lines_alone_give_nothing() -> None:
    assert decode([b": ping\n\n\n\n: ping\n\n"]) == []


def test_unterminated_last_event_is_flushed_on_close() -> None:
    assert decode([b'data: {"a":1}']) == [b'{"a":1}']


def test_data_without_space_after_colon() -> None:
    assert decode([b"data:x\n\n"]) == [b"x"]
