"""Shared helpers for the benchmarks: interleaved timing, servers as subprocesses, machine facts.

Not a benchmark itself (the leading underscore keeps `benchmarks/run` from running it).
The machine is shared and noisy, so every comparison runs subject and anchor in alternating
blocks and reports medians of the per-round ratios: a slow patch hits both sides alike.
"""

from __future__ import annotations

import contextlib
import gc
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
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
