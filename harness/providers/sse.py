"""Incremental Server-Sent Events decoding: bytes as they arrive in, complete `data` payloads out.

Knows the SSE framing only (lines, `data:` fields, blank-line dispatch, `:` comments such as
`: ping`); what a payload means is the provider's business.
"""

from __future__ import annotations

__all__ = ["DONE", "SSEDecoder"]

DONE = b"[DONE]"


class SSEDecoder:
    """Feed raw chunks with `feed`; each call returns the events completed by that chunk.

    An event's payload is its `data:` lines joined by newlines. Comment lines, other fields
    (`event:`, `id:`, `retry:`) and blank lines between events are skipped. Lines may end in LF or CRLF.
    """

    __slots__ = ("_data", "_partial")

    def __init__(self) -> None:
        # The unterminated end of the input, in pieces: a long line (a 5 MB delta) arriving in many
        # chunks is joined once, when its newline comes, not once per chunk (quadratic).
        self._partial: list[bytes] = []
        self._data: list[bytes] = []

    def feed(self, chunk: bytes) -> list[bytes]:
        if b"\n" not in chunk:
            if chunk:
                self._partial.append(chunk)
            return []
        if self._partial:
            self._partial.append(chunk)
            chunk = b"".join(self._partial)
            self._partial = []
        lines = chunk.split(b"\n")
        last = lines.pop()
        if last:
            self._partial.append(last)
        events: list[bytes] = []
        data = self._data
        for line in lines:
            if line.endswith(b"\r"):
                line = line[:-1]
            if not line:
                if data:
                    events.append(data[0] if len(data) == 1 else b"\n".join(data))
                    data.clear()
            elif line.startswith(b"data:"):
                value = line[5:]
                data.append(value[1:] if value.startswith(b" ") else value)
        return events

    def close(self) -> list[bytes]:
        """End of body: an unterminated last event still counts (servers often omit the blank line)."""
        events = self.feed(b"\n\n") if self._partial or self._data else []
        self._partial = []
        return events
