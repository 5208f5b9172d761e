"""report.html in a real headless browser (Debian's chromium over the DevTools protocol): no console
error, no network request, no script from the data runs, the page's own script sorts and filters, and
a screenshot is saved as a CI artefact (reports/ci-artifacts/report.png).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import importlib.util
import itertools
import re
import shutil
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARTIFACTS = Path(__file__).resolve().parents[2] / "reports" / "ci-artifacts"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        CHROMIUM is None,
        reason="Debian's chromium is not installed (apt-get install chromium): the report's browser test needs it",
    ),
]


def _fixtures() -> Any:
    path = Path(__file__).resolve().parents[1] / "unit" / "report" / "report_fixtures.py"
    spec = importlib.util.spec_from_file_location("report_fixtures_for_browser", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while it loads
    spec.loader.exec_module(module)
    return module


@dataclass
class Page:
    """One tab driven over the DevTools protocol, with every event it saw."""

    ws: aiohttp.ClientWebSocketResponse
    session: str = ""
    events: list[dict[str, Any]] = field(default_factory=list)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _waiting: dict[int, asyncio.Future[dict[str, Any]]] = field(default_factory=dict)

    async def pump(self) -> None:
        async for message in self.ws:
            data = message.json()
            if "id" in data and data["id"] in self._waiting:
                self._waiting.pop(data["id"]).set_result(data)
            else:
                self.events.append(data)

    async def send(
        self, method: str, params: dict[str, Any] | None = None, *, browser: bool = False
    ) -> dict[str, Any]:
        ident = next(self._ids)
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._waiting[ident] = future
        payload: dict[str, Any] = {"id": ident, "method": method, "params": params or {}}
        if self.session and not browser:
            payload["sessionId"] = self.session
        await self.ws.send_json(payload)
        reply = await asyncio.wait_for(future, 30)
        assert "error" not in reply, reply
        result: dict[str, Any] = reply["result"]
        return result

    async def wait_for(self, method: str) -> dict[str, Any]:
        async with asyncio.timeout(30):
            while True:
                for event in self.events:
                    if event.get("method") == method:
                        return event
                await asyncio.sleep(0.05)

    async def evaluate(self, expression: str) -> Any:
        reply = await self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True})
        assert "exceptionDetails" not in reply, reply
        return reply["result"].get("value")

    def named(self, *methods: str) -> list[dict[str, Any]]:
        return [e for e in self.events if e.get("method") in methods]


@contextlib.asynccontextmanager
async def chromium(profile: Path) -> AsyncIterator[Page]:
    assert CHROMIUM is not None
    proc = await asyncio.create_subprocess_exec(
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--no-default-browser-check",
        "--hide-scrollbars",
        "--mute-audio",
        f"--user-data-dir={profile}",
        "--remote-debugging-port=0",
        "about:blank",
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    pump: asyncio.Task[None] | None = None
    try:
        assert proc.stderr is not None
        url = None
        async with asyncio.timeout(60):
            while url is None:
                line = (await proc.stderr.readline()).decode(errors="replace")
                if not line:
                    raise AssertionError("chromium exited before opening its DevTools port")
                if match := re.search(r"DevTools listening on (ws://\S+)", line):
                    url = match.group(1)
        drain = asyncio.create_task(proc.stderr.read())  # keep the pipe from filling up
        async with aiohttp.ClientSession() as http, http.ws_connect(url, max_msg_size=0) as ws:
            page = Page(ws)
            pump = asyncio.create_task(page.pump())
            target = await page.send("Target.createTarget", {"url": "about:blank"})
            attached = await page.send(
                "Target.attachToTarget", {"targetId": target["targetId"], "flatten": True}
            )
            page.session = attached["sessionId"]
            yield page
            with contextlib.suppress(Exception):
                await page.send("Browser.close", browser=True)
        drain.cancel()
    finally:
        if pump is not None:
            pump.cancel()
        if proc.returncode is None:
            proc.terminate()  # SIGTERM lets chromium take its renderer and GPU processes down with it
            try:
                await asyncio.wait_for(proc.wait(), 10)
            except TimeoutError:
                proc.kill()
                await proc.wait()


@pytest.fixture(scope="module")
def report_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from harness.report import render_report

    fixtures = _fixtures()
    run_dir = tmp_path_factory.mktemp("browser-run")
    fixtures.write_run(run_dir, hostile=fixtures.BROWSER_PAYLOADS + fixtures.HOSTILE, n_items=6)
    return render_report(run_dir).resolve()


@pytest.mark.timeout(180)
async def test_report_in_headless_chromium(report_file: Path, tmp_path: Path) -> None:
    url = report_file.as_uri()
    async with chromium(tmp_path / "profile") as page:
        for domain in ("Page", "Runtime", "Log", "Network"):
            await page.send(f"{domain}.enable")
        await page.send(
            "Emulation.setDeviceMetricsOverride",
            {"width": 1280, "height": 900, "deviceScaleFactor": 1, "mobile": False},
        )
        await page.send("Page.navigate", {"url": url})
        await page.wait_for("Page.loadEventFired")

        assert await page.evaluate("window.__pwned === undefined") is True
        assert await page.evaluate("document.scripts.length") == 1
        assert (
            await page.evaluate("document.querySelectorAll('img, iframe, textarea, object, embed').length")
            == 0
        )
        assert await page.evaluate("document.querySelectorAll('svg').length") == 15

        # The page's own script ran: filters are shown and work, and a click sorts the cell table.
        assert await page.evaluate("document.getElementById('item-filters').hidden") is False
        total = await page.evaluate("document.querySelectorAll('#items .item').length")
        shown_wrong = await page.evaluate(
            "(() => { const r = document.querySelector('input[value=wrong]'); r.checked = true;"
            " r.dispatchEvent(new Event('change', {bubbles: true}));"
            " return [...document.querySelectorAll('#items .item')].filter(i => !i.hidden).length; })()"
        )
        wrong = await page.evaluate("document.querySelectorAll('#items .item[data-wrong=\"1\"]').length")
        assert total == 6
        assert shown_wrong == wrong
        order = await page.evaluate(
            "(() => { const th = document.querySelectorAll('#table-cells thead th')[3]; th.click(); th.click();"
            " return [...document.querySelectorAll('#table-cells tbody tr')].map(r => parseFloat(r.cells[3].dataset.sort)); })()"
        )
        assert order == sorted(order, reverse=True)

        await page.evaluate("window.scrollTo(0, 0)")
        metrics = await page.send("Page.getLayoutMetrics")
        height = min(int(metrics["cssContentSize"]["height"]), 16000)
        shot = await page.send(
            "Page.captureScreenshot",
            {
                "format": "png",
                "captureBeyondViewport": True,
                "clip": {"x": 0, "y": 0, "width": 1280, "height": height, "scale": 1},
            },
        )
        await page.send(
            "Emulation.setEmulatedMedia", {"features": [{"name": "prefers-color-scheme", "value": "dark"}]}
        )
        dark = await page.send(
            "Page.captureScreenshot",
            {
                "format": "png",
                "clip": {"x": 0, "y": 0, "width": 1280, "height": 1800, "scale": 1},
                "captureBeyondViewport": True,
            },
        )
        await page.send("Emulation.setEmulatedMedia", {"media": "print"})
        await page.evaluate("document.body.offsetHeight")
        await asyncio.sleep(0.2)

        errors = [
            e for e in page.named("Log.entryAdded") if e["params"]["entry"]["level"] in ("error", "warning")
        ]
        errors += page.named("Runtime.exceptionThrown", "Page.javascriptDialogOpening")
        errors += [
            e
            for e in page.named("Runtime.consoleAPICalled")
            if e["params"]["type"] in ("error", "warning", "assert")
        ]
        requests = [e["params"]["request"]["url"] for e in page.named("Network.requestWillBeSent")]

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "report.png").write_bytes(base64.b64decode(shot["data"]))
    (ARTIFACTS / "report-dark.png").write_bytes(base64.b64decode(dark["data"]))
    assert errors == []
    assert [u for u in requests if u != url] == []
