"""`ignore_settings` over real HTTP: the simulator validates an ignored setting like any other but
generates as if it were absent, on the Runware and the OpenAI-compatible endpoints alike."""

from __future__ import annotations

from typing import Any

import aiohttp
import orjson
from sim_client import MODEL, SimFactory, make_task, post


async def texts(session: aiohttp.ClientSession, url: str, settings: dict[str, Any]) -> list[str]:
    status, body = await post(
        session, url, [make_task(seed=s, settings=settings, numberResults=1) for s in (1, 2, 3)]
    )
    assert status == 200
    return [item["text"] for item in body["data"]]


async def test_ignored_topk_is_generated_as_default(
    start_sim: SimFactory, session: aiohttp.ClientSession
) -> None:
    async with start_sim(ignore_settings="topK") as ignoring, start_sim() as honouring:
        greedy = await texts(session, honouring.runware_url, {"topK": 1})
        assert len(set(greedy)) == 1
        ignored = await texts(session, ignoring.runware_url, {"topK": 1})
        assert ignored == await texts(session, honouring.runware_url, {})
        assert len(set(ignored)) == 3


async def test_an_ignored_setting_is_still_validated(
    start_sim: SimFactory, session: aiohttp.ClientSession
) -> None:
    async with start_sim(ignore_settings=["minP"]) as sim:
        status, body = await post(session, sim.runware_url, [make_task(settings={"minP": 3})])
    assert status == 400
    assert body["errors"][0]["parameter"] == "settings.minP"


async def test_openai_endpoint_ignores_the_same_setting(
    start_sim: SimFactory, session: aiohttp.ClientSession
) -> None:
    async def choices(url: str, **extra: Any) -> list[str]:
        body = {"model": MODEL, "messages": [{"role": "user", "content": "What is 6 * 7?"}], "n": 3}
        async with session.post(
            url + "/chat/completions", data=orjson.dumps({**body, "seed": 5, **extra})
        ) as r:
            assert r.status == 200
            return [c["message"]["content"] for c in orjson.loads(await r.read())["choices"]]

    async with start_sim(ignore_settings="minP") as ignoring, start_sim() as honouring:
        assert len(set(await choices(honouring.openai_base_url, min_p=0.95))) == 1
        assert await choices(ignoring.openai_base_url, min_p=0.95) == await choices(honouring.openai_base_url)
