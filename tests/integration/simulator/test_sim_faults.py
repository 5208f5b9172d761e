"""Each fault mode at rate 1.0 over real HTTP, the webhook's retries, and that faults are never billed."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiohttp
import orjson
import pytest
from aiohttp import web
from sim_client import SimFactory, make_task, post, read_lines

AUTH = {"Authorization": "Bearer k"}


@pytest.mark.parametrize(
    ("fault", "status", "code"),
    [
        ("429", 429, "rateLimitExceeded"),
        ("500", 500, "internalServerError"),
        ("503", 503, "serviceUnavailable"),
    ],
)
async def test_http_error_faults_use_the_error_envelope(
    start_sim: SimFactory, session: aiohttp.ClientSession, fault: str, status: int, code: str
) -> None:
    async with start_sim(faults=f"{fault}=1") as sim:
        got, body = await post(session, sim.runware_url, [make_task()])
        stats = await sim.stats()
    assert got == status
    assert body["errors"][0]["code"] == code
    assert stats["faults"] == {fault: 1}
    assert stats["results"] == 0


async def test_429_carries_retry_after_when_configured(
    start_sim: SimFactory, session: aiohttp.ClientSession
) -> None:
    async with (
        start_sim(faults="429=1,retry_after=2") as sim,
        session.post(sim.runware_url, data=orjson.dumps([make_task()]), headers=AUTH) as resp,
    ):
        assert resp.status == 429
        assert resp.headers["Retry-After"] == "2"


async def test_timeout_fault_hangs_until_the_client_gives_up(
    start_sim: SimFactory, session: aiohttp.ClientSession
) -> None:
    async with start_sim(faults="timeout=1") as sim:  # hang_s defaults to 600; shutdown must cancel it
        with pytest.raises(asyncio.TimeoutError):
            await post_with_timeout(session, sim.runware_url, 0.3)
        stats = await sim.stats()
    assert stats["faults"] == {"timeout": 1}
    assert stats["results"] == 0


async def post_with_timeout(session: aiohttp.ClientSession, url: str, seconds: float) -> None:
    timeout = aiohttp.ClientTimeout(total=seconds)
    async with session.post(url, data=orjson.dumps([make_task()]), headers=AUTH, timeout=timeout) as resp:
        await resp.read()


async def test_timeout_fault_answers_504_after_hang_s(
    start_sim: SimFactory, session: aiohttp.ClientSession
) -> None:
    async with start_sim(faults="timeout=1,hang_s=0.1") as sim:
        status, body = await post(session, sim.runware_url, [make_task()])
    assert status == 504
    assert body["errors"][0]["code"] == "timeoutProvider"


async def test_drop_stream_on_sync_truncates_the_body(
    start_sim: SimFactory, session: aiohttp.ClientSession
) -> None:
    async with start_sim(faults="drop_stream=1") as sim:
        with pytest.raises(aiohttp.ClientPayloadError):
            await read_lines(session, sim.runware_url, make_task(), [])
        stats = await sim.stats()
    assert stats["results"] == 0
    assert stats["successful_tasks"] == 0


async def test_drop_stream_cuts_a_stream_before_its_final_chunk(
    start_sim: SimFactory, session: aiohttp.ClientSession
) -> None:
    lines: list[bytes] = []
    async with start_sim(faults="drop_stream=1") as sim:
        with pytest.raises(aiohttp.ClientPayloadError):
            await read_lines(session, sim.runware_url, make_task(deliveryMethod="stream"), lines)
        stats = await sim.stats()
    events = [orjson.loads(x[6:]) for x in lines if x.startswith(b"data: {")]
    assert events, "deltas were sent before the cut"
    assert all(e.get("finishReason") is None for e in events)
    assert b"data: [DONE]\n" not in lines
    assert stats["results"] == 0


async def test_bad_json_sends_a_malformed_body(start_sim: SimFactory, session: aiohttp.ClientSession) -> None:
    async with (
        start_sim(faults="bad_json=1") as sim,
        session.post(sim.runware_url, data=orjson.dumps([make_task()]), headers=AUTH) as resp,
    ):
        raw = await resp.read()
        stats = await sim.stats()
    assert resp.status == 200
    with pytest.raises(orjson.JSONDecodeError):
        orjson.loads(raw)
    assert stats["results"] == 0


async def test_bad_json_in_a_stream_sends_a_malformed_event_and_no_final(
    start_sim: SimFactory, session: aiohttp.ClientSession
) -> None:
    async with (
        start_sim(faults="bad_json=1") as sim,
        session.post(
            sim.runware_url, data=orjson.dumps([make_task(deliveryMethod="stream")]), headers=AUTH
        ) as resp,
    ):
        raw = (await resp.read()).decode()
    blocks = [b[6:] for b in raw.strip().split("\n\n")]
    with pytest.raises(orjson.JSONDecodeError):
        orjson.loads(blocks[-1])
    assert "[DONE]" not in blocks


async def test_faults_are_drawn_per_attempt_so_a_retry_can_succeed(
    start_sim: SimFactory, session: aiohttp.ClientSession
) -> None:
    task = make_task(includeCost=True)
    statuses = []
    async with start_sim(faults="500=0.5", seed=3) as sim:
        for _ in range(30):
            status, body = await post(session, sim.runware_url, [task])  # the same task, retried
            statuses.append(status)
            if status == 200:
                break
        stats = await sim.stats()
    assert statuses[-1] == 200
    assert stats["results"] == 1
    assert stats["billed_cost_usd"] == body["data"][0]["cost"]
    assert stats["faults"].get("500", 0) == len(statuses) - 1


async def test_fault_draws_are_seeded(start_sim: SimFactory, session: aiohttp.ClientSession) -> None:
    runs = []
    for _ in range(2):
        async with start_sim(faults="429=0.3,500=0.3", seed=11) as sim:
            runs.append([(await post(session, sim.runware_url, [make_task()]))[0] for _ in range(12)])
    assert runs[0] == runs[1]
    assert len(set(runs[0])) > 1


@pytest.fixture
async def receiver() -> AsyncIterator[tuple[str, list[dict[str, object]], list[int]]]:
    """A webhook receiver on 127.0.0.1 that fails its first POST with 500."""
    received: list[dict[str, object]] = []
    statuses: list[int] = []

    async def hook(request: web.Request) -> web.Response:
        status = 500 if not statuses else 200
        statuses.append(status)
        if status == 200:
            received.append(orjson.loads(await request.read()))
        return web.Response(status=status)

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{port}/hook?token=t", received, statuses
    finally:
        await runner.cleanup()


async def test_webhook_posts_each_result_and_retries_non_2xx(
    start_sim: SimFactory,
    session: aiohttp.ClientSession,
    receiver: tuple[str, list[dict[str, object]], list[int]],
) -> None:
    url, received, statuses = receiver
    task = make_task(seed=4, webhookURL=url, numberResults=2, includeCost=True)
    async with start_sim(webhook_backoff_s=0.01) as sim:
        status, ack = await post(session, sim.runware_url, [task])
        for _ in range(200):
            if len(received) == 2:
                break
            await asyncio.sleep(0.01)
        stats = await sim.stats()
    assert status == 200
    assert ack["data"] == [{"taskType": "textInference", "taskUUID": task["taskUUID"]}]
    assert statuses == [500, 200, 200]
    assert [body["data"][0]["seed"] for body in received] == [4, 5]  # type: ignore[index]
    assert stats["webhook"] == {"posts": 3, "delivered": 2, "failed": 0}
    assert stats["results"] == 2
    assert stats["successful_tasks"] == 1
    assert stats["billed_cost_usd"] == pytest.approx(sum(b["data"][0]["cost"] for b in received))  # type: ignore[index]
