"""The lazy registry, and the API key kept out of every repr, message and record."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import orjson
import pytest
from provider_fixtures import Reply, ScriptedServer, fast_timeouts, make_target, make_trial

from harness.errors import AuthError, ConfigError
from harness.providers import get_provider, provider_names, register_provider

SECRET = "sk-live-0123456789abcdef"


def test_importing_the_package_imports_no_provider_and_no_aiohttp() -> None:
    code = (
        "import sys, harness.providers as p; "
        "print(any(m in sys.modules for m in ('aiohttp', 'harness.providers.runware', 'harness.providers.openai_compat')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_unknown_provider_names_the_allowed_ones() -> None:
    target = make_target("http://127.0.0.1:1/v1").model_copy(update={"provider": "nope"})
    with pytest.raises(ConfigError) as info:
        get_provider(target)
    assert "runware" in str(info.value)
    assert "openai" in str(info.value)


def test_register_provider_by_dotted_path(monkeypatch: pytest.MonkeyPatch) -> None:
    from harness import providers

    monkeypatch.setattr(providers, "_REGISTRY", dict(providers._REGISTRY))
    register_provider("custom", "harness.providers.runware:RunwareProvider")
    assert "custom" in provider_names()
    target = make_target("http://127.0.0.1:1/v1").model_copy(update={"provider": "custom"})
    assert type(get_provider(target)).__name__ == "RunwareProvider"


def test_missing_key_variable_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_SUCH_KEY_VAR", raising=False)
    with pytest.raises(ConfigError, match="NO_SUCH_KEY_VAR"):
        get_provider(make_target("http://127.0.0.1:1/v1", api_key_env="NO_SUCH_KEY_VAR"))


@pytest.mark.parametrize("kind", ["runware", "openai"])
def test_key_not_in_repr(monkeypatch: pytest.MonkeyPatch, kind: str) -> None:
    monkeypatch.setenv("SECRET_KEY_VAR", SECRET)
    provider = get_provider(make_target("http://127.0.0.1:1/v1", provider=kind, api_key_env="SECRET_KEY_VAR"))
    assert SECRET not in repr(provider)
    assert SECRET not in str(provider)


async def test_key_echoed_by_the_server_is_redacted_everywhere(
    server: ScriptedServer, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("SECRET_KEY_VAR", SECRET)
    server.add(
        lambda tasks: Reply(
            status=401, json={"errors": [{"code": "invalidApiKey", "message": f"Bad key {SECRET}"}]}
        ),
    )
    provider = get_provider(make_target(server.url, api_key_env="SECRET_KEY_VAR", timeouts=fast_timeouts()))
    server.providers.append(provider)
    with pytest.raises(AuthError) as info:
        await provider.send([make_trial()])
    error: Any = info.value
    assert server.requests[0]["headers"]["Authorization"] == f"Bearer {SECRET}"
    for text in (str(error), repr(error), error.message, repr(error.args)):
        assert SECRET not in text
    from harness.records import ErrorInfo

    info_record = ErrorInfo(kind=error.kind, message=error.message, status=error.status, code=error.code)
    assert SECRET.encode() not in orjson.dumps(info_record)
    assert SECRET not in caplog.text
