"""Shared helpers for the benchmarks: interleaved timing, servers as subprocesses, machine facts,
HTTP load and the CPU a server spends per request.

Not a benchmark itself (the leading underscore keeps `benchmarks/run` from running it).
The machine is shared and noisy, so every comparison runs subject and anchor in alternating
blocks and reports medians of the per-round ratios: a slow patch hits both sides alike.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PYTHON = sys.executable


# --- machine -----------------------------------------------------------------------------


def machine_info() -> dict[str, str]:
    """nproc, CPU model and memory, for the results table."""
    cpu = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    memory = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                memory = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
                break
    return {
        "nproc": str(os.cpu_count()),
        "cpu": cpu,
        "memory": memory,
        "python": platform.python_version(),
    }


# --- interleaved timing ------------------------------------------------------------------


@dataclass
class Comparison:
    """Per-call times of a subject and its anchor, measured in alternating blocks."""

    name: str
    subject_ns: list[float] = field(default_factory=list)
    anchor_ns: list[float] = field(default_factory=list)

    @property
    def ratios(self) -> list[float]:
        return [s / a for s, a in zip(self.subject_ns, self.anchor_ns, strict=False)]

    @property
    def ratio(self) -> float:
        return statistics.median(self.ratios)

    @property
    def subject(self) -> float:
        return statistics.median(self.subject_ns)

    @property
    def anchor(self) -> float:
        return statistics.median(self.anchor_ns)


async def interleave_async(
    name: str,
    subject: Callable[[], Awaitable[object]],
    anchor: Callable[[], Awaitable[object]],
    *,
    rounds: int,
    block_seconds: float,
    deadline: float,
) -> Comparison:
    """Time `subject()` and `anchor()` (coroutine functions, awaited in the running loop)
    in alternating blocks of about `block_seconds`, `rounds` times or until `deadline` (a
    `time.monotonic()` value), whichever comes first."""

    async def run(fn: Callable[[], Awaitable[object]], loops: int) -> float:
        rng = range(loops)
        start = time.perf_counter_ns()
        for _ in rng:
            await fn()
        return (time.perf_counter_ns() - start) / 1e9

    async def calibrate(fn: Callable[[], Awaitable[object]]) -> int:
        loops = 1
        while loops < 1 << 22:
            elapsed = await run(fn, loops)
            if elapsed >= block_seconds / 4:
                return max(1, int(loops * block_seconds / elapsed))
            loops *= 4
        return loops

    loops = min(await calibrate(subject), await calibrate(anchor))
    result = Comparison(name)
    for index in range(rounds):
        if time.monotonic() > deadline and index >= 1:
            break
        order = [(subject, result.subject_ns), (anchor, result.anchor_ns)]
        if index % 2:
            order.reverse()
        for fn, sink in order:
            gc.collect()
            sink.append(await run(fn, loops) * 1e9 / loops)
    return result


# --- servers -----------------------------------------------------------------------------


def free_port() -> int:
    """A free TCP port on 127.0.0.1 (the benchmarks never listen anywhere else)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def answers(url: str, timeout: float = 1.0) -> bool:
    """Whether `url` answers with any HTTP status (a 503 still means the server is up)."""
    try:
        with urllib.request.urlopen(url, timeout=timeout):
            return True
    except urllib.error.HTTPError:
        return True
    except (urllib.error.URLError, OSError):
        return False


def stop_process(process: subprocess.Popen[bytes], grace: float = 10.0) -> None:
    """SIGINT (uvicorn's graceful stop, runs the lifespan shutdown), then SIGKILL."""
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        process.wait(timeout=grace)


@contextlib.contextmanager
def server(
    command: Sequence[str],
    url: str,
    *,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    ready_timeout: float = 60.0,
    log_path: Path | None = None,
) -> Iterator[subprocess.Popen[bytes]]:
    """Start `command`, wait (bounded) until `url` answers, yield it, and always stop it."""
    log = open(log_path, "wb") if log_path else subprocess.DEVNULL  # noqa: SIM115
    process = subprocess.Popen(
        list(command), env=env, cwd=cwd, stdout=log, stderr=subprocess.STDOUT
    )
    try:
        deadline = time.monotonic() + ready_timeout
        while not answers(url, timeout=0.5):
            if process.poll() is not None:
                raise RuntimeError(f"server exited with {process.returncode}: {' '.join(command)}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"no answer from {url} within {ready_timeout:g} s")
            time.sleep(0.02)
        yield process
    finally:
        stop_process(process)
        if log_path:
            log.close()  # type: ignore[union-attr]


def mindframe_command() -> list[str]:
    """The `mindframe` console script of this venv (or the same entry point through -c)."""
    script = Path(PYTHON).parent / "mindframe"
    if script.exists():
        return [str(script)]
    return [PYTHON, "-c", "from mindframe.kernel.cli import main; main()"]


def clean_env(**extra: str) -> dict[str, str]:
    """The current environment without the developer's MINDFRAME_ settings, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MINDFRAME_")}
    env.update(extra)
    return env


def fmt_ns(ns: float) -> str:
    if ns >= 1e6:
        return f"{ns / 1e6:.2f} ms"
    if ns >= 1e3:
        return f"{ns / 1e3:.2f} µs"
    return f"{ns:.0f} ns"


def uvicorn_command(app_dir: Path, port: int, app: str = "bare_app:app") -> list[str]:
    """The anchor server: a plain ASGI app under uvicorn with the flags the kernel's own
    `mindframe run` uses (one worker, loop and http auto, no access log, warnings only)."""
    return [
        PYTHON, "-m", "uvicorn", app,
        "--app-dir", str(app_dir),
        "--host", "127.0.0.1",
        "--port", str(port),
        "--workers", "1",
        "--no-access-log",
        "--log-level", "warning",
    ]  # fmt: skip


# --- load generation ---------------------------------------------------------------------
#
# One load generator for the HTTP benchmarks: `wrk` when it is installed, else `drive` below
# in a process of its own (so it does not share the benchmark's GIL). Both keep `connections`
# keep-alive connections busy for `duration` seconds with a GET, or with a JSON POST of `body`
# (and a bearer `token`), and answer requests/s with the p50 and p99 latency in ms.

LoadFigures = dict[str, float]
Load = Callable[..., LoadFigures]

WRK_POST = """
wrk.method = "POST"
wrk.body = {body}
wrk.headers["Content-Type"] = "application/json"
{auth}
"""


def load_generator(choice: str = "auto") -> tuple[str, Load]:
    """The load generator `choice` names (`auto`: wrk when installed), and its name."""
    if choice == "auto":
        choice = "wrk" if shutil.which("wrk") else "python"
    return choice, run_wrk if choice == "wrk" else run_python_loadgen


def run_wrk(
    url: str, duration: float, connections: int, body: str | None = None, token: str | None = None
) -> LoadFigures:
    """One wrk run (one thread: the other core serves)."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        auth = f'wrk.headers["Authorization"] = "Bearer {token}"' if token else ""
        if body is not None:
            script.write(WRK_POST.format(body=json.dumps(body), auth=auth))
    try:
        out = subprocess.run(
            ["wrk", "-t1", f"-c{connections}", f"-d{max(1, round(duration))}s", "--timeout", "5s",
             "--latency", *(["-s", script.name] if body is not None else []), url],
            capture_output=True, text=True, timeout=duration + 30, check=True,
        ).stdout  # fmt: skip
    finally:
        os.unlink(script.name)
    if re.search(r"Non-2xx or 3xx responses: (\d+)", out) or re.search(r"Socket errors: ", out):
        raise RuntimeError(f"wrk saw errors against {url}:\n{out}")
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    latency = dict(re.findall(r"^\s+(\d+)%\s+([\d.]+\w+)", out, re.M))
    return {
        "rps": rps,
        "p50_ms": _to_ms(latency["50"]) if "50" in latency else float("nan"),
        "p99_ms": _to_ms(latency["99"]),
    }


def _to_ms(value: str) -> float:
    number, unit = re.match(r"([\d.]+)(\w+)", value).groups()  # type: ignore[union-attr]
    return float(number) * {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 6e4}[unit]


def run_python_loadgen(
    url: str, duration: float, connections: int, body: str | None = None, token: str | None = None
) -> LoadFigures:
    """`drive` in a process of its own: `python _common.py --drive '<its arguments as JSON>'`."""
    arguments = json.dumps([url, duration, connections, body, token])
    out = subprocess.run(
        [PYTHON, __file__, "--drive", arguments],
        capture_output=True,
        text=True,
        timeout=duration + 30,
        check=True,
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


async def drive(
    url: str, duration: float, connections: int, body: str | None = None, token: str | None = None
) -> LoadFigures:
    """Keep-alive requests on `connections` raw sockets for `duration` seconds; any answer
    but 200 stops it."""
    match = re.match(r"http://([\d.]+):(\d+)(/.*)", url)
    assert match, url
    host, port, path = match.group(1), int(match.group(2)), match.group(3)
    if body is None:
        request = f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n".encode()
    else:
        payload = body.encode()
        auth = f"Authorization: Bearer {token}\r\n" if token else ""
        request = (
            f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
            f"{auth}Content-Length: {len(payload)}\r\n\r\n"
        ).encode() + payload
    latencies: list[float] = []
    stop_at = time.monotonic() + duration

    async def worker() -> None:
        reader, writer = await asyncio.open_connection(host, port)
        try:
            while time.monotonic() < stop_at:
                start = time.perf_counter()
                writer.write(request)
                head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
                if not head.startswith(b"HTTP/1.1 200"):
                    raise RuntimeError(head.decode(errors="replace"))
                length = int(re.search(rb"(?i)content-length:\s*(\d+)", head).group(1))  # type: ignore[union-attr]
                await asyncio.wait_for(reader.readexactly(length), 5)
                latencies.append(time.perf_counter() - start)
        finally:
            writer.close()

    began = time.monotonic()
    await asyncio.gather(*(worker() for _ in range(connections)))
    elapsed = time.monotonic() - began
    latencies.sort()
    return {
        "rps": len(latencies) / elapsed,
        "p50_ms": latencies[len(latencies) // 2] * 1e3,
        "p99_ms": latencies[int(len(latencies) * 0.99)] * 1e3,
    }


def cpu_seconds(pid: int) -> float:
    """User and system CPU time so far of process `pid`, all its threads, and every process
    it started that is still running (a process pool's workers do part of its work)."""
    total = 0.0
    for member in _process_tree(pid):
        try:
            fields = Path(f"/proc/{member}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:  # ended since it was listed
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def _process_tree(pid: int) -> list[int]:
    members, at = [pid], 0
    while at < len(members):
        for task in Path(f"/proc/{members[at]}/task").glob("*/children"):
            with contextlib.suppress(FileNotFoundError):
                members += [int(child) for child in task.read_text().split()]
        at += 1
    return members


def with_cpu_per_request(pid: int, duration: float, load: Callable[[], LoadFigures]) -> LoadFigures:
    """`load()`'s figures plus `cpu_us`: the CPU microseconds the server `pid` spent on each
    request it served meanwhile (CPU per request hardly moves when other work shares the
    machine; requests/s does)."""
    before = cpu_seconds(pid)
    result = load()
    result["cpu_us"] = (cpu_seconds(pid) - before) / (result["rps"] * duration) * 1e6
    return result


if __name__ == "__main__":
    if sys.argv[1:2] == ["--drive"]:
        print(json.dumps(asyncio.run(drive(*json.loads(sys.argv[2])))))
