"""The bare client of the external-server benchmark (test_external_run_bench.py), run as a whole
process: `python bare_runware_client.py URL TASKS_JSON CONCURRENCY`. Sends each wire task of TASKS_JSON
(a JSON list of Runware textInference tasks without a taskUUID) as one sync POST, `CONCURRENCY` at a
time over one aiohttp session (on uvloop when installed, as the harness), parses every answer, and prints one JSON line:
`{"ok": N, "first_send_s": T, "last_answer_s": T}` (seconds since the process started its clock).

Only what any client must do is here (build the body, send, read, parse), so the harness's overhead is
what it does beyond that.
"""

from __future__ import annotations

import asyncio
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import aiohttp
import orjson


async def send_all(url: str, tasks: list[dict[str, Any]], concurrency: int) -> dict[str, Any]:
    pending = iter(tasks)
    headers = {"Content-Type": "application/json", "Authorization": "Bearer bench"}
    ok = 0
    sends: list[float] = []
    answers: list[float] = []

    async def worker(session: aiohttp.ClientSession) -> None:
        nonlocal ok
        for task in pending:
            body = orjson.dumps([{**task, "taskUUID": str(uuid.uuid4())}])
            sends.append(time.perf_counter())
            async with session.post(url, data=body, headers=headers) as resp:
                payload = orjson.loads(await resp.read())
            answers.append(time.perf_counter())
            ok += resp.status == 200 and "text" in payload["data"][0]

    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        await asyncio.gather(*(worker(session) for _ in range(concurrency)))
    return {"ok": ok, "first_send_s": min(sends), "last_answer_s": max(answers)}


def main() -> None:
    url, tasks_file, concurrency = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3])
    tasks = orjson.loads(tasks_file.read_bytes())
    try:  # the same event loop as the harness's (harness.runner.run_event_loop)
        import uvloop
    except ImportError:
        result = asyncio.run(send_all(url, tasks, concurrency))
    else:
        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            result = runner.run(send_all(url, tasks, concurrency))
    print(orjson.dumps(result).decode(), flush=True)


if __name__ == "__main__":
    main()
