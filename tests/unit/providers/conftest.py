"""Fixtures of the provider tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from provider_fixtures import ScriptedServer, serve_scripted


@pytest.fixture
async def server() -> AsyncIterator[ScriptedServer]:
    async with serve_scripted() as scripted:
        yield scripted
