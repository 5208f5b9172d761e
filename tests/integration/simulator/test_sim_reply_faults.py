"""The faults inside a 200 reply, each at rate 1.0 over real HTTP: what the body holds, and what the
ledger says was billed per taskUUID (bad bytes of a generated result are billed; a result left out,
replaced by an error or with a broken usage report is not)."""

from __future__ import annotations

from typing import Any

import aiohttp
import orjson
import pytest
from sim_client import SimFactory, make_task

from harness.simulator.faults import parse_faults

AUTH = {"Authorization": "Bearer k"}
BILLED = {"includeUsage": True, "includeCost": True}


async def post_raw(session: aiohttp.ClientSession, url: str, tasks: Any) -> tuple[int, bytes]:
    async with session.post(url, data=orjson.dumps(tasks), headers=AUTH) as resp:
        return resp.status, await resp.read()


async def sync_batch(start_sim: SimFactory, session: aiohttp.ClientSession, fault: str, n: int = 4) -> Any:
    tasks = [make_task(f"What is {i} + 2?", **BILLED) for i in range(n)]
    async with start_sim(faults=f"{fault}=1,huge_mb=0.5", seed=3) as sim:
        status, raw = await post_raw(session, sim.runware_url, tasks)
        stats = await sim.stats(ledger=True)
    return [t["taskUUID"] for t in tasks], status, raw, stats


def test_the_new_kinds_parse_and_huge_mb_round_trips() -> None:
    plan = parse_faults("bad_utf8=0.1,partial=0.1,huge_text=0.05,huge_mb=2")
    assert plan.rates == {"bad_utf8": 0.1, "partial": 0.1, "huge_text": 0.05}
    assert parse_faults(plan.to_spec()) == plan


async def test_error_200_answers_every_task_with_an_error_and_bills_nothing(
    start_sim: SimFactory, session: aiohttp.ClientSession
) -> None:
    uuids, status, raw, stats = await sync_batch(start_sim, session, "error_200")
    body = orjson.loads(raw)
    assert status == 200
    assert body["data"] == []
    assert sorted(e["taskUUID"] for e in body["errors"]) == sorted(uuids)
    assert stats["ledger"] == {}
    assert stats["billed_cost_usd"] == 0


async def test_partial_answers_half_the_batch_and_bills_only_those(
    start_sim: SimFactory, session: aiohttp.ClientSession
) -> None:
    uuids, status, raw, stats = await sync_batch(start_sim, session, "partial")
    body = orjson.loads(raw)
    answered = {i["taskUUID"] for i in body["data"]}
    errored = {e["taskUUID"] for e in body.get("errors", [])}
    assert status == 200
    assert len(answered) == 2
    assert answered <= set(uuids)
    assert errored
    assert not errored & answered
    assert set(stats["ledger"]) == answered  # the unanswered tasks were not billed
    billed = {i["taskUUID"]: i["cost"] for i in body["data"]}
    assert {k: v["cost_usd"] for k, v in stats["ledger"].items()} == billed


async def test_unknown_and_duplicated_task_uuids_are_not_billed_twice(
    start_sim: SimFactory, session: aiohttp.ClientSession
) -> None:
    uuids, _, raw, stats = await sync_batch(start_sim, session, "unknown_uuid", n=2)
    seen = [i["taskUUID"] for i in orjson.loads(raw)["data"]]
    assert len(seen) == 3
    assert len(set(seen) - set(uuids)) == 1
    assert set(stats["ledger"]) == set(uuids)
    uuids, _, raw, stats = await sync_batch(start_sim, session, "dup_uuid", n=2)
    seen = [i["taskUUID"] for i in orjson.loads(raw)["data"]]
    assert sorted(seen) != sorted(set(seen))
    assert set(seen) == set(uuids)
    assert all(entry["results"] == 1 for entry in stats["ledger"].values())


async def test_bad_utf8_puts_invalid_bytes_in_one_result_which_is_billed(
    start_sim: SimFactory, session: aiohttp.ClientSession
) -> None:
    uuids, _, raw, stats = await sync_batch(start_sim, session, "bad_utf8")
    with pytest.raises(UnicodeDecodeError):
        raw.decode()
    assert raw.decode("utf-8", "replace").count("\ufffd") >= 1
    assert set(stats["ledger"]) == set(uuids)


async def test_huge_text_is_billed_and_as_large_as_asked(
    start_sim: SimFactory, session: aiohttp.ClientSession
) -> None:
    uuids, _, raw, stats = await sync_batch(start_sim, session, "huge_text", n=2)
    texts = sorted(len(i["text"]) for i in orjson.loads(raw)["data"])
    assert texts[-1] > 500_000 > texts[0]
    assert set(stats["ledger"]) == set(uuids)


@pytest.mark.parametrize("fault", ["bad_usage", "no_usage"])
async def test_a_broken_usage_report_is_not_billed(
    start_sim: SimFactory, session: aiohttp.ClientSession, fault: str
) -> None:
    uuids, _, raw, stats = await sync_batch(start_sim, session, fault, n=3)
    items = orjson.loads(raw)["data"]
    if fault == "bad_usage":
        broken = [i for i in items if i["cost"] < 0 or i["usage"]["promptTokens"] < 0]
    else:
        broken = [i for i in items if "usage" not in i and "cost" not in i]
    assert len(broken) == 1
    assert set(stats["ledger"]) == set(uuids) - {broken[0]["taskUUID"]}


async def stream_events(start_sim: SimFactory, session: aiohttp.ClientSession, fault: str) -> Any:
    task = make_task(deliveryMethod="stream", **BILLED)
    async with (
        start_sim(faults=f"{fault}=1,huge_mb=0.2", seed=3) as sim,
        session.post(sim.runware_url, data=orjson.dumps([task]), headers=AUTH) as resp,
    ):
        raw = await resp.read()
        stats = await sim.stats(ledger=True)
    return task["taskUUID"], resp.content_type, raw, stats


@pytest.mark.parametrize(
    ("fault", "billed"),
    [
        ("no_final", False),
        ("stream_error", False),
        ("bad_usage", False),
        ("no_usage", False),
        ("bad_utf8", True),
        ("huge_text", True),
        ("dup_uuid", True),
        ("unknown_uuid", True),
    ],
)
async def test_stream_faults_and_their_billing(
    start_sim: SimFactory, session: aiohttp.ClientSession, fault: str, billed: bool
) -> None:
    task_uuid, content_type, raw, stats = await stream_events(start_sim, session, fault)
    assert content_type == "text/event-stream"
    assert raw.endswith(b"data: [DONE]\n\n")
    events = [line[6:] for line in raw.split(b"\n") if line.startswith(b"data: ")][:-1]
    finals = [e for e in events if b'"finishReason":"' in e]
    assert set(stats["ledger"]) == ({task_uuid} if billed else set())
    if fault in ("no_final", "stream_error"):
        assert finals == []
        assert (b'"errors"' in events[-1]) is (fault == "stream_error")
    elif fault == "dup_uuid":
        assert len(finals) == 2
    elif fault == "bad_utf8":
        assert sum(1 for e in events if b"\xff" in e) == 1
    elif fault == "unknown_uuid":
        assert sum(1 for e in events if task_uuid.encode() not in e) == 1
    elif fault == "huge_text":
        assert max(len(e) for e in events) > 200_000


async def test_error_200_on_a_stream_is_a_json_envelope(
    start_sim: SimFactory, session: aiohttp.ClientSession
) -> None:
    task_uuid, content_type, raw, stats = await stream_events(start_sim, session, "error_200")
    assert content_type == "application/json"
    assert orjson.loads(raw)["errors"][0]["taskUUID"] == task_uuid
    assert stats["ledger"] == {}


async def test_partial_poll_withholds_finished_results_until_the_next_poll(
    start_sim: SimFactory, session: aiohttp.ClientSession
) -> None:
    tasks = [make_task(f"What is {i} + 2?", deliveryMethod="async", **BILLED) for i in range(2)]
    async with start_sim(seed=3) as sim:
        await post_raw(session, sim.runware_url, tasks)
        sim.state.faults._cumulative = [(1.0, "partial")]  # every request from now on
        polls = [{"taskType": "getResponse", "taskUUID": t["taskUUID"]} for t in tasks]
        _, raw = await post_raw(session, sim.runware_url, polls)
        first = orjson.loads(raw)
        after_first = await sim.stats(ledger=True)
        sim.state.faults._cumulative = []
        _, raw = await post_raw(session, sim.runware_url, polls)
        stats = await sim.stats(ledger=True)
    assert len([i for i in first["data"] if i.get("status") == "success"]) == 1
    assert len(after_first["ledger"]) == 1
    assert set(stats["ledger"]) == {t["taskUUID"] for t in tasks}
    assert all(entry["results"] == 1 for entry in stats["ledger"].values())


@pytest.mark.parametrize("fault", ["bad_utf8", "bad_usage", "no_usage", "error_200", "huge_text"])
async def test_openai_reply_faults(start_sim: SimFactory, session: aiohttp.ClientSession, fault: str) -> None:
    body = {"model": "alibaba:qwen@3.5-397b", "messages": [{"role": "user", "content": "What is 2 + 2?"}]}
    async with (
        start_sim(faults=f"{fault}=1,huge_mb=0.2", seed=3) as sim,
        session.post(sim.openai_base_url + "/chat/completions", data=orjson.dumps(body)) as resp,
    ):
        raw = await resp.read()
        stats = await sim.stats(ledger=True)
    assert resp.status == 200
    billed = list(stats["openai"]["ledger"])
    if fault == "error_200":
        assert orjson.loads(raw)["error"]["type"] == "server_error"
        assert billed == []
    elif fault == "bad_utf8":
        assert b"\xff" in raw
        assert len(billed) == 1
    else:
        reply = orjson.loads(raw)
        assert (len(billed) == 1) is (fault == "huge_text")
        if fault == "bad_usage":
            assert reply["usage"]["prompt_tokens"] < 0
        elif fault == "no_usage":
            assert "usage" not in reply
        else:
            assert len(reply["choices"][0]["message"]["content"]) > 200_000
