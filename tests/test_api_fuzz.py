"""Schemathesis over the whole HTTP API: a runtime with every built-in plugin, served by
uvicorn on loopback, answers generated and hostile requests without a single 5xx, both
anonymous and as an admin with an API token."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import uvicorn

from mindframe.kernel.records import PluginState
from mindframe.sdk.auth import Authenticator
from mindframe.sdk.testing import boot

SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")
FAST_AUTH = {
    "argon2_time_cost": 1,
    "argon2_memory_cost": 8,
    "argon2_parallelism": 1,
    "cookie_secure": False,
}
# Operations that change the runtime under test rather than answer a request about it: a
# run that disables a plugin, erases its own admin or follows an endless stream would test
# less and less of the API (or never end).
NOT_FUZZED = [
    "POST /api/kernel/plugins/{name}/enable",
    "POST /api/kernel/plugins/{name}/disable",
    "POST /api/kernel/plugins/{name}/reload",
    "GET /api/kernel/bus/tail",  # streams until the client goes away
    "DELETE /api/auth/me",  # erases the admin the run signs in as
    "DELETE /api/auth/users/{user_id}",  # user erasure
    "DELETE /api/auth/tokens/{token_id}",  # may revoke the token the run signs in with
]

# The chat widget's own operations answer a visitor's token, never a user's: the admin run
# leaves them out and a run signed in as a visitor fuzzes them.
VISITOR_ONLY = [
    "GET /api/chat/visitors/me/export",
    "POST /api/chat/conversations",
    "DELETE /api/chat/visitors/me",  # erases the visitor the run signs in as: not fuzzed
]


@dataclass
class Served:
    url: str
    admin_token: str


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """The runtime booted in its own thread and event loop (where it lives, uvicorn serves
    it), with an admin and an API token made through the auth plugin."""
    # proto given explicitly: asyncio sets TCP_NODELAY only on sockets whose proto says TCP,
    # and without it every keep-alive request waits ~40 ms for a delayed ACK.
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    url = f"http://127.0.0.1:{listener.getsockname()[1]}"
    data_dir = tmp_path_factory.mktemp("fuzz") / "data"
    ready = threading.Event()
    box: dict[str, object] = {}

    async def serve() -> None:
        async with boot(None, data_dir=data_dir, settings={"auth": FAST_AUTH}) as kernel:
            records = kernel.runtime.records.values()
            if failed := {r.name: r.error for r in records if r.state != PluginState.ACTIVE}:
                raise RuntimeError(
                    f"not every built-in plugin started, so not all is fuzzed: {failed}"
                )
            auth = kernel.runtime.container.resolve(Authenticator)
            admin = await auth.create_user("root", "correct horse battery", admin=True)  # type: ignore[attr-defined]
            _, secret = await auth.create_token(admin["id"], "fuzz", ["*"])  # type: ignore[attr-defined]
            config = uvicorn.Config(
                kernel.runtime.asgi, lifespan="off", log_level="warning", access_log=False
            )
            server = box["server"] = uvicorn.Server(config)
            box["token"] = secret
            ready.set()
            await server.serve(sockets=[listener])

    def run() -> None:
        try:
            asyncio.run(serve())
        except BaseException as exc:
            box["error"] = exc
        finally:
            ready.set()

    thread = threading.Thread(target=run, name="fuzzed-runtime", daemon=True)
    thread.start()
    assert ready.wait(120), "the runtime did not boot within 120 s"
    assert "error" not in box, f"the runtime failed to boot: {box['error']!r}"
    try:
        yield Served(url, str(box["token"]))
    finally:
        box["server"].should_exit = True  # type: ignore[attr-defined]
        thread.join(60)
        listener.close()


def schemathesis(
    served: Served,
    tmp_path: Path,
    examples: int,
    *options: str,
    skip: list[str] = NOT_FUZZED,
) -> subprocess.CompletedProcess:
    """Run the schemathesis CLI (every phase, fixed seed) with `examples` per operation."""
    excluded = [arg for name in skip for arg in ("--exclude-name", name)]
    return subprocess.run(
        [
            str(SCHEMATHESIS), "run", f"{served.url}/schema/openapi.json",
            "--checks", "not_a_server_error",
            "--max-examples", str(examples), "--seed", "1", "--workers", "1",
            "--request-timeout", "20",
            *excluded, *options,
        ],
        capture_output=True, text=True, timeout=600, cwd=tmp_path,
    )  # fmt: skip


@pytest.mark.slow
def test_anonymous_requests_never_get_a_server_error(served: Served, tmp_path: Path) -> None:
    # Mostly 401s: what differs without a user is the guards, so the boundary and negative
    # cases of the coverage phase are enough; the signed-in run fuzzes the parameters.
    result = schemathesis(served, tmp_path, 5, "--phases", "coverage")
    assert result.returncode == 0, result.stdout + result.stderr[-2000:]


@pytest.mark.slow
def test_admin_requests_never_get_a_server_error(served: Served, tmp_path: Path) -> None:
    bearer = f"Authorization: Bearer {served.admin_token}"
    result = schemathesis(served, tmp_path, 25, "--header", bearer, skip=NOT_FUZZED + VISITOR_ONLY)
    assert result.returncode == 0, result.stdout + result.stderr[-2000:]
    assert "Authentication failed" not in result.stdout, result.stdout


@pytest.mark.slow
def test_a_chat_visitors_requests_never_get_a_server_error(served: Served, tmp_path: Path) -> None:
    made = httpx.post(f"{served.url}/api/chat/visitors", json={"name": "Fuzz"}, timeout=10)
    assert made.status_code == 201, made.text
    visitor = f"x-visitor-token: {made.json()['token']}"
    wanted = [arg for name in VISITOR_ONLY[:-1] for arg in ("--include-name", name)]
    result = schemathesis(served, tmp_path, 25, "--header", visitor, *wanted)
    assert result.returncode == 0, result.stdout + result.stderr[-2000:]
    assert "Authentication failed" not in result.stdout, result.stdout
