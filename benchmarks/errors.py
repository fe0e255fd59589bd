"""Error tracking: Mindframe's errors plugin against Bugsink, the same real-SDK envelopes sent
to both in the same run, and the bare loop that is the physical limit.

Run: .venv/bin/python benchmarks/errors.py [--quick]   (BENCH_N envelopes a burst, default
2,000, --quick 400; BENCH_ROUNDS rounds, default 2, --quick 1)

- The envelopes are captured at start with the real `sentry-sdk` through a transport that
  keeps them: five exception types, 6 to 10 frames deep with local variables, about 10 KB each,
  gzip-compressed as the SDK sends them (fresh event ids for every one sent).
- Each target gets the same burst from 16 keep-alive connections (a small HTTP/1.1 client
  in this process, the same for both): *accepted* is envelopes answered 200 per second of
  the burst, with the p99 time to that answer; *processed* is envelopes stored and grouped
  per second, from the first request to the last event found in the target's database.
- Before its measured burst each target, freshly started, takes a warm-up of `WARM_UP`
  envelopes and digests them (not measured): a tracker as it runs in production, its
  worker processes started and its code imported, not one that boots into the burst.
- Mindframe: `mindframe run` with only the errors plugin, on SQLite in a temp folder.
- Bugsink (the anchor): from PyPI into a venv in the temp folder (kept between runs), on
  SQLite, gunicorn with 2 workers and its digest worker `snappea`, quotas raised; see
  /work/shared/anchors/bugsink.md.
- The bare loop: one process that only gunzips the same envelopes, decodes them with
  msgspec, hashes their in-app frames and inserts them into SQLite in batches of 500; its
  "p99" is how long an envelope waits for its batch's commit.

Rounds alternate which target goes first; ratios are medians of per-round ratios. Goals
(issue 12): processed >= 20x Bugsink's, and >= 0.5x the bare loop's.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import hashlib
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    PYTHON,
    REPO,
    clean_env,
    free_port,
    machine_info,
    mindframe_command,
    server,
)

CONCURRENCY = 16
WARM_UP = 200
BUGSINK = "bugsink>=2.6,<2.7"
KINDS = [ZeroDivisionError, KeyError, ValueError, TypeError, RuntimeError]


# --- the envelopes ---------------------------------------------------------------------


def capture_envelopes(distinct: int = 100) -> list[bytes]:
    """`distinct` envelopes as the real sentry-sdk serialises them."""
    import sentry_sdk
    from sentry_sdk.transport import Transport

    class Keep(Transport):
        def __init__(self, options: dict | None = None) -> None:
            super().__init__(options)
            self.kept: list[bytes] = []

        def capture_envelope(self, envelope: object) -> None:
            self.kept.append(envelope.serialize())  # type: ignore[attr-defined]

    keep = Keep()
    sentry_sdk.init(
        dsn="http://0123456789abcdef0123456789abcdef@127.0.0.1:9/1",
        transport=keep,
        default_integrations=False,
        release="shop@2.4.1",
        environment="production",
    )
    sentry_sdk.set_user({"id": "u-1", "email": "ada@example.org"})
    sentry_sdk.set_tag("region", "eu")
    for n in range(distinct):
        with sentry_sdk.new_scope() as scope:
            scope.clear_breadcrumbs()
            for line in range(3):
                scope.add_breadcrumb(category="cart", message=f"line {line} of order {n} added")
            try:
                place_order(5 + n % 5, n % 5, n)
            except Exception as error:
                scope.capture_exception(error)
    sentry_sdk.flush()
    sentry_sdk.get_client().close()
    return keep.kept


def place_order(depth: int, kind: int, n: int) -> None:
    order = {"id": n, "lines": [f"sku-{i}" for i in range(6)], "customer": f"c{n % 7}"}
    if depth == 0:
        raise KINDS[kind](f"order {order['id']} failed for {order['customer']}")
    place_order(depth - 1, kind, n)


def burst_bodies(envelopes: list[bytes], n: int) -> list[bytes]:
    """`n` gzip bodies, each with an event id of its own (same length, so `length` holds)."""
    bodies = []
    for i in range(n):
        source = envelopes[i % len(envelopes)]
        old = json.loads(source.split(b"\n", 1)[0])["event_id"].encode()
        bodies.append(gzip.compress(source.replace(old, uuid.uuid4().hex.encode()), 6))
    return bodies


# --- the sender ------------------------------------------------------------------------


@dataclass
class Burst:
    accepted: int
    refused: int
    seconds: float
    latencies: list[float]

    @property
    def rate(self) -> float:
        return self.accepted / self.seconds

    @property
    def p99_ms(self) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000


async def send_burst(port: int, path: str, auth: str, bodies: list[bytes]) -> Burst:
    """POST every body over CONCURRENCY keep-alive connections; time each answer."""
    queue = iter(bodies)
    latencies: list[float] = []
    refused = 0

    async def connection() -> None:
        nonlocal refused
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            for body in queue:
                if reader.at_eof():  # the server closes after each answer (gunicorn sync)
                    writer.close()
                    reader, writer = await asyncio.open_connection("127.0.0.1", port)
                head = (
                    f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                    f"X-Sentry-Auth: {auth}\r\nContent-Type: application/x-sentry-envelope\r\n"
                    f"Content-Encoding: gzip\r\nContent-Length: {len(body)}\r\n\r\n"
                ).encode()
                started = time.perf_counter()
                writer.write(head + body)
                status, length, close = await read_head(reader)
                await reader.readexactly(length)
                if close:
                    writer.close()
                    reader, writer = await asyncio.open_connection("127.0.0.1", port)
                latencies.append(time.perf_counter() - started)
                if status != 200:
                    refused += 1
        finally:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*[connection() for _ in range(CONCURRENCY)])
    seconds = time.perf_counter() - started
    return Burst(len(latencies) - refused, refused, seconds, latencies)


async def read_head(reader: asyncio.StreamReader) -> tuple[int, int, bool]:
    """Status, Content-Length, and whether the server will close the connection."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    length, close = 0, False
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name.lower() == "content-length":
            length = int(value)
        elif name.lower() == "connection" and value.strip().lower() == "close":
            close = True
    return status, length, close


def wait_for_count(count: Callable[[], int], total: int, started: float, limit: float) -> float:
    """Seconds from `started` until `count()` reaches `total` (polled every 20 ms)."""
    deadline = time.monotonic() + limit
    while count() < total:
        if time.monotonic() > deadline:
            raise TimeoutError(f"only {count()} of {total} processed within {limit:g} s")
        time.sleep(0.02)
    return time.perf_counter() - started


def counter(database: Path, query: str) -> Callable[[], int]:
    def count() -> int:
        try:
            with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=5) as db:
                return int(db.execute(query).fetchone()[0])
        except sqlite3.OperationalError:
            return 0

    return count


@dataclass
class Outcome:
    burst: Burst
    processed_seconds: float
    total: int

    @property
    def processed_rate(self) -> float:
        return self.total / self.processed_seconds


def run_burst(
    port: int, path: str, auth: str, bodies: list[bytes], count: Callable[[], int], limit: float
) -> Outcome:
    before = count()
    started = time.perf_counter()
    burst = asyncio.run(send_burst(port, path, auth, bodies))
    if burst.refused:
        raise RuntimeError(f"{burst.refused} envelopes refused")
    seconds = wait_for_count(lambda: count() - before, len(bodies), started, limit)
    return Outcome(burst, seconds, len(bodies))


# --- Mindframe -------------------------------------------------------------------------

CREATE_PROJECT = """
import asyncio, json
from mindframe.sdk import booted
async def main():
    async with booted(["errors"]) as resolve:
        from mindframe_plugins.errors.service import ErrorTracker
        project, key = await resolve(ErrorTracker).projects.create("bench", rate_limit=0)
        print(json.dumps({"id": project.id, "key": key}))
asyncio.run(main())
"""


class Mindframe:
    name = "mindframe"

    def __init__(self, root: Path) -> None:
        self.root = root / "mindframe"
        self.root.mkdir()
        from mindframe.kernel.discovery import discover_folder, find_plugin_folders

        found = [discover_folder(folder).name for folder in find_plugin_folders(REPO / "plugins")]
        self.env = clean_env(
            MINDFRAME_DATA_DIR=str(self.root / "data"),
            MINDFRAME_DISABLED=json.dumps([name for name in found if name != "errors"]),
        )
        created = subprocess.run(
            [PYTHON, "-c", CREATE_PROJECT],
            env=self.env,
            cwd=self.root,
            capture_output=True,
            check=True,
            timeout=120,
        )
        project = json.loads(created.stdout.decode().strip().splitlines()[-1])
        self.path = f"/api/errors/api/{project['id']}/envelope/"
        self.auth = f"Sentry sentry_version=7, sentry_client=bench/1, sentry_key={project['key']}"
        self.count = counter(
            self.root / "data" / "mindframe.db", "select count(*) from errors_events"
        )
        self.port = free_port()

    def serve(self):
        command = [
            *mindframe_command(),
            "run",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--no-access-log",
        ]
        return server(
            command,
            f"http://127.0.0.1:{self.port}/health",
            env=self.env,
            cwd=self.root,
            log_path=self.root / "server.log",
        )


# --- Bugsink ---------------------------------------------------------------------------


class Bugsink:
    name = "bugsink"

    def __init__(self, root: Path) -> None:
        self.home = Path(tempfile.gettempdir()) / "mindframe-bench-bugsink"
        self.venv = self.home / "venv"
        self.ensure_installed()
        self.base = root / "bugsink"
        self.base.mkdir()
        self.port = free_port()
        self.env = {
            **clean_env(),
            "DJANGO_SETTINGS_MODULE": "bugsink_conf",
            "PYTHONPATH": str(self.base),
        }
        self.configure()
        self.path, self.auth = self.create_project()
        self.count = counter(self.base / "db.sqlite3", "select count(*) from events_event")

    def ensure_installed(self) -> None:
        marker = self.venv / ".installed"
        if marker.exists():
            return
        self.home.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, "-m", "venv", str(self.venv)], check=True)
        subprocess.run(
            [str(self.venv / "bin" / "pip"), "install", "-q", BUGSINK, "gunicorn"], check=True
        )
        marker.touch()

    def bin(self, name: str) -> str:
        return str(self.venv / "bin" / name)

    def configure(self) -> None:
        subprocess.run(
            [self.bin("bugsink-create-conf"), "--template=singleserver", "--host=127.0.0.1",
             f"--port={self.port}", f"--base-dir={self.base}"],
            cwd=self.base, env=self.env, check=True, capture_output=True,
        )  # fmt: skip
        conf = self.base / "bugsink_conf.py"
        text = conf.read_text()
        text += f"""
BASE_URL = "http://127.0.0.1:{self.port}"
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = False
USE_X_REAL_IP = False
BUGSINK = {{**BUGSINK, "PHONEHOME": False,
    "MAX_EVENTS_PER_PROJECT_PER_5_MINUTES": 10**9, "MAX_EVENTS_PER_PROJECT_PER_HOUR": 10**9,
    "MAX_EVENTS_PER_5_MINUTES": 10**9, "MAX_EVENTS_PER_HOUR": 10**9,
    "MAX_EVENTS_PER_MONTH": 10**12, "MAX_EVENTS_PER_PROJECT_PER_MONTH": 10**12}}
"""
        conf.write_text(text)
        for database in ([], ["--database=snappea"]):
            subprocess.run(
                [self.bin("bugsink-manage"), "migrate", *(["snappea"] * bool(database)), *database],
                cwd=self.base, env=self.env, check=True, capture_output=True,
            )  # fmt: skip

    def create_project(self) -> tuple[str, str]:
        code = (
            "from teams.models import Team; from projects.models import Project; "
            "team = Team.objects.create(name='bench'); "
            "project = Project.objects.create(team=team, name='bench'); "
            "print(project.id, project.sentry_key)"
        )
        out = subprocess.run(
            [self.bin("bugsink-manage"), "shell", "-c", code],
            cwd=self.base, env=self.env, check=True, capture_output=True,
        ).stdout.decode().split()  # fmt: skip
        project_id, key = out[-2], out[-1]
        auth = f"Sentry sentry_version=7, sentry_client=bench/1, sentry_key={key}"
        return f"/api/{project_id}/envelope/", auth

    def serve(self):
        import contextlib

        @contextlib.contextmanager
        def both():
            worker_log = open(self.base / "snappea.log", "wb")  # noqa: SIM115
            worker = subprocess.Popen(
                [self.bin("bugsink-runsnappea")], cwd=self.base, env=self.env,
                stdout=worker_log, stderr=subprocess.STDOUT,
            )  # fmt: skip
            try:
                command = [
                    self.bin("gunicorn"),
                    "--workers=2",
                    f"--bind=127.0.0.1:{self.port}",
                    "bugsink.wsgi",
                ]
                with server(
                    command,
                    f"http://127.0.0.1:{self.port}/health/ready",
                    env=self.env,
                    cwd=self.base,
                    log_path=self.base / "gunicorn.log",
                ):
                    yield
            finally:
                worker.terminate()
                try:
                    worker.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    worker.kill()
                worker_log.close()

        return both()


# --- the bare loop ---------------------------------------------------------------------


def bare_loop(bodies: list[bytes], database: Path, batch: int = 500) -> Outcome:
    """Gunzip, decode, hash the in-app frames, insert in batches: nothing else."""
    import msgspec

    decode = msgspec.json.Decoder().decode
    db = sqlite3.connect(database)
    db.execute("pragma journal_mode=wal")
    db.execute("pragma synchronous=normal")
    db.execute(
        "create table if not exists events (id integer primary key, event_id text unique, "
        "grp text, data blob)"
    )
    db.execute("create index if not exists events_grp on events (grp)")
    latencies: list[float] = []
    started = time.perf_counter()
    for start in range(0, len(bodies), batch):
        batch_started = time.perf_counter()
        rows = []
        for body in bodies[start : start + batch]:
            lines = gzip.decompress(body).split(b"\n")
            payload = lines[2]
            event = decode(payload)
            parts = []
            for exception in event["exception"]["values"]:
                parts.append(exception["type"])
                for frame in exception["stacktrace"]["frames"]:
                    if frame.get("in_app"):
                        parts.append(
                            f"{frame.get('module')}|{frame.get('function')}|{frame.get('context_line')}"
                        )
            group = hashlib.sha1("\n".join(parts).encode()).hexdigest()
            rows.append((event["event_id"], group, payload))
        db.executemany("insert into events (event_id, grp, data) values (?, ?, ?)", rows)
        db.commit()
        waited = time.perf_counter() - batch_started
        latencies.extend([waited] * len(rows))
    seconds = time.perf_counter() - started
    db.close()
    return Outcome(Burst(len(bodies), 0, seconds, latencies), seconds, len(bodies))


# --- the run ---------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    n = int(os.environ.get("BENCH_N", "400" if args.quick else "2000"))
    rounds = int(os.environ.get("BENCH_ROUNDS", "1" if args.quick else "2"))
    facts = machine_info()
    print(f"# errors: {n} envelopes a burst, {rounds} rounds, {CONCURRENCY} connections; "
          f"nproc {facts['nproc']}, {facts['cpu']}, python {facts['python']}")  # fmt: skip
    envelopes = capture_envelopes()
    sizes = [len(e) for e in envelopes]
    packed = statistics.mean(len(gzip.compress(e, 6)) for e in envelopes) / 1024
    print(f"# captured {len(envelopes)} real-SDK envelopes: {statistics.mean(sizes) / 1024:.1f} KB "
          f"on average, {packed:.1f} KB gzipped")  # fmt: skip
    results: dict[str, list[Outcome]] = {"mindframe": [], "bugsink": [], "bare": []}
    with tempfile.TemporaryDirectory(prefix="bench-errors-") as tmp:
        root = Path(tmp)
        targets = [Mindframe(root), Bugsink(root)]
        for round_number in range(rounds):
            order = targets if round_number % 2 == 0 else list(reversed(targets))
            for target in order:
                bodies = burst_bodies(envelopes, n)
                with target.serve():
                    limit = 60 + n / 5  # Bugsink digests 60-80 a second here, ~10 when loaded
                    warm_up = burst_bodies(envelopes, WARM_UP)
                    run_burst(target.port, target.path, target.auth, warm_up, target.count, limit)
                    outcome = run_burst(
                        target.port, target.path, target.auth, bodies, target.count, limit
                    )
                results[target.name].append(outcome)
                report(f"round {round_number + 1} {target.name}", outcome)
            bare = bare_loop(burst_bodies(envelopes, n), root / f"bare{round_number}.db")
            results["bare"].append(bare)
            report(f"round {round_number + 1} bare loop", bare)
    summarise(results)
    return 0


def report(label: str, outcome: Outcome) -> None:
    burst = outcome.burst
    print(
        f"{label:<24} accepted {burst.rate:8.0f} ev/s (p99 {burst.p99_ms:7.1f} ms)   "
        f"processed {outcome.processed_rate:8.0f} ev/s",
        flush=True,
    )


def summarise(results: dict[str, list[Outcome]]) -> None:
    mf, bs, bare = results["mindframe"], results["bugsink"], results["bare"]
    over_bugsink = statistics.median(
        m.processed_rate / b.processed_rate for m, b in zip(mf, bs, strict=True)
    )
    accepted_over = statistics.median(
        m.burst.rate / b.burst.rate for m, b in zip(mf, bs, strict=True)
    )
    over_bare = statistics.median(
        m.processed_rate / b.processed_rate for m, b in zip(mf, bare, strict=True)
    )
    print()
    print("| | accepted ev/s | p99 accept ms | processed ev/s |")
    print("| --- | --- | --- | --- |")
    for name, outcomes in (("mindframe", mf), ("bugsink", bs), ("bare loop", bare)):
        accepted = statistics.median(o.burst.rate for o in outcomes)
        p99 = statistics.median(o.burst.p99_ms for o in outcomes)
        processed = statistics.median(o.processed_rate for o in outcomes)
        print(f"| {name} | {accepted:.0f} | {p99:.1f} | {processed:.0f} |")
    print()
    print(f"processed, mindframe / bugsink: {over_bugsink:.1f}x (goal >= 20)  "
          f"{'met' if over_bugsink >= 20 else 'NOT met'}")  # fmt: skip
    print(f"accepted,  mindframe / bugsink: {accepted_over:.1f}x")
    print(f"processed, mindframe / bare loop: {over_bare:.2f} (goal >= 0.5)  "
          f"{'met' if over_bare >= 0.5 else 'NOT met'}")  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
