"""X-Forwarded-For names the client only when a proxy listed in `trusted_proxies` sent it:
checked through `mindframe run` (a real uvicorn server on loopback), since it is the
server that decides which address every plugin, the login throttle and the kernel's
loopback rule see."""

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from mindframe.kernel.settings import SettingsError, load_settings

WHOAMI = """
from litestar import Request, get
from mindframe.sdk import hookimpl

@get("/")
async def whoami(request: Request) -> dict:
    return {"client": request.client.host}

@hookimpl
def register_routes(ctx):
    return [whoami]
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def mindframe_run(tmp_path: Path, plugins_dir: Path, **env: str) -> Iterator[str]:
    """`mindframe run` with only the plugins in `plugins_dir`; yields its URL once it answers."""
    port = free_port()
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("MINDFRAME_", "FORWARDED"))}
    environ.update(MINDFRAME_DATA_DIR=str(tmp_path / "data"), MINDFRAME_BUILTIN_PLUGINS="false")
    command = [sys.executable, "-m", "mindframe.kernel.cli", "run", "--port", str(port)]
    process = subprocess.Popen(
        [*command, "--plugins-dir", str(plugins_dir), "--no-access-log"],
        cwd=tmp_path,
        env={**environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"{url}/health", timeout=1)
                break
            except httpx.HTTPError:
                if process.poll() is not None:
                    pytest.fail(f"server exited early:\n{process.stdout.read()}")
                if time.monotonic() > deadline:
                    pytest.fail("server did not answer /health within 30 s")
                time.sleep(0.1)
        yield url
    finally:
        process.kill()
        process.wait(timeout=10)


@pytest.fixture
def whoami(plugin_factory) -> Path:
    plugin_factory.make("whoami", WHOAMI)
    return plugin_factory.root


def client_seen(url: str, forwarded_for: str) -> str:
    response = httpx.get(f"{url}/api/whoami/", headers={"X-Forwarded-For": forwarded_for})
    assert response.status_code == 200, response.text
    return response.json()["client"]


@pytest.mark.slow  # a real server: about 3 s
def test_forwarded_for_is_ignored_by_default_even_from_loopback(tmp_path, whoami):
    with mindframe_run(tmp_path, whoami) as url:
        assert client_seen(url, "203.0.113.9") == "127.0.0.1"


@pytest.mark.slow
def test_forwarded_for_names_the_client_when_the_proxy_is_trusted(tmp_path, whoami):
    with mindframe_run(tmp_path, whoami, MINDFRAME_TRUSTED_PROXIES='["127.0.0.1"]') as url:
        assert client_seen(url, "203.0.113.9") == "203.0.113.9"


@pytest.mark.slow
def test_forwarded_for_from_a_proxy_not_listed_is_ignored(tmp_path, whoami):
    with mindframe_run(tmp_path, whoami, MINDFRAME_TRUSTED_PROXIES='["10.0.0.0/8"]') as url:
        assert client_seen(url, "203.0.113.9") == "127.0.0.1"


def test_trusted_proxies_must_be_addresses_or_networks():
    proxies = '["10.0.0.1", "192.168.0.0/16", "::1"]'
    settings = load_settings(None, environ={"MINDFRAME_TRUSTED_PROXIES": proxies})
    assert settings.kernel.trusted_proxies == ["10.0.0.1", "192.168.0.0/16", "::1"]
    assert load_settings(None, environ={}).kernel.trusted_proxies == []
    with pytest.raises(SettingsError) as caught:
        load_settings(None, environ={"MINDFRAME_TRUSTED_PROXIES": '["proxy.local"]'})
    assert "'proxy.local' is not an IP address or network" in str(caught.value)
    assert "MINDFRAME_TRUSTED_PROXIES" in str(caught.value)


@pytest.mark.slow  # a real server with the auth plugin: about 4 s
def test_login_throttle_counts_the_real_peer_whatever_it_forwards(tmp_path, whoami):
    limited = {
        "MINDFRAME_BUILTIN_PLUGINS": "true",
        "MINDFRAME_AUTH__LOGIN_ATTEMPTS_PER_MINUTE": "3",
    }
    with mindframe_run(tmp_path, whoami, **limited) as url:
        answers = [
            httpx.post(
                f"{url}/api/auth/login",
                json={"username": "nobody", "password": "wrong"},
                headers={"X-Forwarded-For": f"203.0.113.{n}"},
            ).status_code
            for n in range(1, 5)
        ]
    assert answers == [401, 401, 401, 429]
