"""SSE decoding of a huge event (a 5 MB text delta, as a faulty or verbose server sends) arriving in
16 KB pieces, as TLS records deliver it: the decoder must join the pieces once, not once per piece
(which made this ~1 s of event-loop time per such stream, and quadratic in the text's size)."""

from __future__ import annotations

import orjson
from pytest_benchmark.fixture import BenchmarkFixture

from harness.providers.sse import SSEDecoder

EVENT = b"data: " + orjson.dumps({"delta": {"text": "x" * 5_000_000}}) + b"\n\n"
PIECES = [EVENT[i : i + 16384] for i in range(0, len(EVENT), 16384)]


def decode() -> list[bytes]:
    decoder = SSEDecoder()
    events: list[bytes] = []
    for piece in PIECES:
        events += decoder.feed(piece)
    return events


def test_a_5mb_event_in_16kb_pieces(benchmark: BenchmarkFixture) -> None:
    events = benchmark(decode)
    assert len(events) == 1
    assert len(events[0]) == len(EVENT) - len(b"data: \n\n")
