"""The sandbox is a boundary: a hostile plugin with `isolation = "process"` and no
permissions, in a real child process, tries what it must not do, and the OS refuses it."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import stat
import tempfile
from pathlib import Path

import pytest
from sandbox_testlib import FAST, eventually, proxy_of, write_plugin

from mindframe.kernel.records import PluginState
from mindframe.sandbox import landlock, seccomp
from mindframe.sandbox.account import live_uid
from plugins import HOSTILE

pytestmark = pytest.mark.anyio
needs_landlock = pytest.mark.skipif(
    landlock.abi() == 0, reason="the running kernel has no Landlock (5.13+, enabled at boot)"
)
needs_root = pytest.mark.skipif(
    os.geteuid() != 0, reason="a uid of its own is given only when the kernel runs as root"
)


@pytest.fixture
def world_open_data_dir():
    """A data folder any user may read and write, outside every private folder: only the
    sandbox's Landlock rules stand between it and the child (not file modes, not the
    mount namespace that hides the test's own 0700 temporary folder)."""
    folder = Path(tempfile.mkdtemp(prefix="mindframe-open-data-", dir="/tmp"))
    folder.chmod(0o777)
    yield folder
    for path in folder.iterdir():
        path.unlink()
    folder.rmdir()


def _open_up(data_dir: Path) -> Path:
    database = data_dir / "mindframe.db"
    for path in data_dir.iterdir():
        path.chmod(0o666)
    assert stat.S_IMODE(database.stat().st_mode) == 0o666
    return database


@needs_landlock
@pytest.mark.parametrize("where", ["private", "world-open"])
async def test_the_child_can_neither_read_write_nor_lock_the_database(
    boot_kernel, plugin_factory, tmp_path, world_open_data_dir, where
):
    data_dir = world_open_data_dir if where == "world-open" else tmp_path / "data"
    write_plugin(plugin_factory, "hostile", HOSTILE)
    async with boot_kernel(["hostile"], builtin=False, data_dir=data_dir) as kernel:
        database = _open_up(data_dir) if where == "world-open" else data_dir / "mindframe.db"
        before = database.read_bytes()
        tried = await kernel.client.get("/api/hostile/files", params={"path": str(database)})
        assert tried.status_code == 200, tried.text
        outcomes = tried.json()
        assert all(outcome.startswith("refused") for outcome in outcomes.values()), outcomes
        assert database.read_bytes() == before
        assert not (data_dir / "planted").exists()
        with sqlite3.connect(database, timeout=0) as connection:  # no lock held by the child
            connection.execute("create table if not exists probe (x)")
            connection.execute("insert into probe values (1)")


async def test_the_child_sees_nothing_of_the_kernels_environment(
    boot_kernel, plugin_factory, monkeypatch
):
    monkeypatch.setenv("SMTP_PASSWORD", "hunter2-only-the-kernel-knows")
    write_plugin(plugin_factory, "hostile", HOSTILE)
    async with boot_kernel(["hostile"], builtin=False) as kernel:
        seen = (await kernel.client.get("/api/hostile/environment")).json()
        assert set(seen["env"]) <= {"PATH", "HOME", "TMPDIR", "LANG"}, seen["env"]
        assert "hunter2" not in repr(seen)
        assert seen["parent_environ"].startswith("refused"), seen["parent_environ"]


class LoopbackServer:
    """A TCP server and a UDP endpoint on one loopback port, recording what reaches them."""

    def __init__(self) -> None:
        self.peers: list[tuple[str, int]] = []
        self.datagrams: list[bytes] = []

    async def __aenter__(self) -> LoopbackServer:
        async def on_connect(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            self.peers.append(writer.get_extra_info("peername"))
            writer.close()

        recorded = self.datagrams

        class Datagrams(asyncio.DatagramProtocol):
            def datagram_received(self, data: bytes, addr: object) -> None:
                recorded.append(data)

        self.server = await asyncio.start_server(on_connect, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]
        loop = asyncio.get_running_loop()
        self.udp, _ = await loop.create_datagram_endpoint(
            Datagrams, local_addr=("127.0.0.1", self.port)
        )
        return self

    async def __aexit__(self, *_: object) -> None:
        self.udp.close()
        self.server.close()

    async def received(self) -> tuple[int, list[bytes]]:
        """How many connections and which datagrams came before now: connections are
        accepted, and datagrams delivered, in order, so once a sentinel of ours arrives,
        anything sent earlier has too."""
        _, writer = await asyncio.open_connection("127.0.0.1", self.port)
        ours = writer.get_extra_info("sockname")
        self.udp.sendto(b"sentinel", ("127.0.0.1", self.port))
        await eventually(lambda: ours in self.peers and b"sentinel" in self.datagrams)
        writer.close()
        return self.peers.index(ours), self.datagrams[: self.datagrams.index(b"sentinel")]


async def test_the_child_cannot_connect_to_a_loopback_server_even_with_raw_sockets(
    boot_kernel, plugin_factory
):
    if landlock.abi() < 4 and not seccomp.supported() and os.geteuid() != 0:
        pytest.skip("no seccomp filter, no Landlock TCP rules and no network namespace here")
    write_plugin(plugin_factory, "hostile", HOSTILE)
    async with LoopbackServer() as server, boot_kernel(["hostile"], builtin=False) as kernel:
        params = {"port": server.port}
        outcomes = (await kernel.client.get("/api/hostile/raw-connect", params=params)).json()
        assert outcomes["tcp"].startswith("refused"), outcomes
        assert outcomes["udp"].startswith("refused"), outcomes
        assert await server.received() == (0, [])


async def test_a_plugin_granted_network_reaches_the_server(boot_kernel, plugin_factory):
    write_plugin(plugin_factory, "hostile", HOSTILE, permissions="network = true")
    async with LoopbackServer() as server, boot_kernel(["hostile"], builtin=False) as kernel:
        params = {"port": server.port}
        outcomes = (await kernel.client.get("/api/hostile/raw-connect", params=params)).json()
        assert outcomes == {"tcp": "done", "udp": "done"}
        assert await server.received() == (1, [b"leak"])


@needs_root
async def test_the_child_runs_as_a_uid_of_its_own_and_writes_only_its_working_directory(
    boot_kernel, plugin_factory
):
    write_plugin(plugin_factory, "hostile", HOSTILE)
    async with boot_kernel(["hostile"], builtin=False) as kernel:
        proxy = proxy_of(kernel, "hostile")
        who = (await kernel.client.get("/api/hostile/who")).json()
        assert who["uid"] != 0 and who["euid"] != 0 and who["gid"] != 0, who
        assert who["groups"] == []
        assert live_uid(proxy.details()["pid"]) == who["uid"]  # seen from outside too
        confinement = (await kernel.runtime.health())["plugins"]["hostile"]["confinement"]
        assert confinement["uid"] == who["uid"]
        assert confinement["landlock"] == landlock.abi()
        assert confinement["seccomp"] is seccomp.supported()
        assert who["signal_parent"].startswith("refused"), who
        assert who["write_workdir"] == "done"
        workdir = Path(who["workdir"])
        assert (workdir / "scratch").read_text() == "mine"
        assert workdir.stat().st_uid == who["uid"]
        assert stat.S_IMODE(workdir.stat().st_mode) == 0o700
    assert not workdir.exists()  # removed with the child


def _limits_of(pid: int) -> dict[str, str]:
    """`/proc/PID/limits` as {name: hard limit}, read from outside the child."""
    lines = Path(f"/proc/{pid}/limits").read_text().splitlines()[1:]
    return {line[:26].strip(): line[47:68].strip() for line in lines}


async def test_limits_apply_when_the_manifest_sets_none(boot_kernel, plugin_factory):
    write_plugin(plugin_factory, "hostile", HOSTILE, limits="")
    async with boot_kernel(["hostile"], builtin=False) as kernel:
        limits = _limits_of(proxy_of(kernel, "hostile").details()["pid"])
        assert limits["Max address space"] == str(256 * 1024 * 1024)
        assert limits["Max cpu time"] == "61"  # SIGXCPU at 60 s, SIGKILL at 61 s
        if os.geteuid() == 0:
            assert limits["Max processes"] == "64"


def _running(pids: list[int], uid: int) -> list[int]:
    return [pid for pid in pids if live_uid(pid) == uid]


@needs_root
async def test_a_reload_or_stop_kills_every_process_the_child_started(boot_kernel, plugin_factory):
    write_plugin(plugin_factory, "hostile", HOSTILE)
    async with boot_kernel(["hostile"], builtin=False) as kernel:
        who = (await kernel.client.get("/api/hostile/who")).json()
        spawned = (await kernel.client.post("/api/hostile/spawn/20")).json()
        assert len(spawned["pids"]) == 20, spawned
        assert len(_running(spawned["pids"], who["uid"])) == 20  # they left its session

        assert (await kernel.runtime.reload("hostile")).ok
        assert _running(spawned["pids"], who["uid"]) == []
        assert not Path(who["workdir"]).exists()

        who = (await kernel.client.get("/api/hostile/who")).json()
        spawned = (await kernel.client.post("/api/hostile/spawn/5")).json()
        assert len(_running(spawned["pids"], who["uid"])) == 5
    assert _running(spawned["pids"], who["uid"]) == []  # the kernel stopped
    assert not Path(who["workdir"]).exists()


@needs_root
async def test_the_number_of_processes_is_limited(boot_kernel, plugin_factory):
    limits = FAST + "processes = 16\n"
    write_plugin(plugin_factory, "hostile", HOSTILE, limits=limits)
    async with boot_kernel(["hostile"], builtin=False) as kernel:
        spawned = (await kernel.client.post("/api/hostile/spawn/40")).json()
        assert len(spawned["pids"]) < 16  # the child and its threads count too
        assert "Resource temporarily unavailable" in spawned["errors"][0]


async def test_a_plugin_folder_holding_the_data_folder_is_refused(boot_kernel, plugin_factory):
    folder = write_plugin(plugin_factory, "hostile", HOSTILE)
    async with boot_kernel(["hostile"], builtin=False, data_dir=folder / "data") as kernel:
        assert kernel.state("hostile") is PluginState.FAILED
        error = kernel.error("hostile")
        assert f"would let the plugin read {folder}" in error, error
        assert "move the kernel's data_dir out of it" in error


@needs_root
async def test_a_plugin_folder_its_uid_cannot_read_is_refused_with_what_to_do(
    boot_kernel, plugin_factory
):
    folder = write_plugin(plugin_factory, "hostile", HOSTILE)
    folder.chmod(0o700)
    async with boot_kernel(["hostile"], builtin=False) as kernel:
        assert kernel.state("hostile") is PluginState.FAILED
        error = kernel.error("hostile")
        assert f"cannot read {folder} (drwx------)" in error, error
        assert f"chmod -R o+rX {folder}" in error
