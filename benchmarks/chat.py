"""Chat over WebSockets: fan-out while persisting every message, and sockets through reloads.

Why: issue 13 claims that the chat plugin, which stores every message before acknowledging
it and numbers it per conversation, still broadcasts at least half as many messages a second
as a bare Litestar WebSocket broadcast that stores nothing (goal >= 0.5x), and that reloading
`chat` 20 times under that load closes no socket (or, in the fallback, loses no message).

Subject: `mindframe run --no-access-log` with only the chat plugin (SQLite in a fresh data
dir). Anchor: `benchmarks/_chat_bare_app.py` (Litestar, one WebSocket route, rooms in memory)
under uvicorn with the same flags. Both serve on loopback for the whole run, with the
WebSocket library uvicorn picks by default.

Load (`benchmarks/_chat_load.py`, its own process): `--clients` sockets (2,000) in rooms of
`--per-room` (10): one sender per room sends a message and waits for its own copy before the
next, so 200 messages are in flight; every socket times each message from send to arrival.
Rounds alternate subject and anchor; reported are messages/s (and deliveries/s), fan-out
latency p50/p99 and the median of the per-round ratios. Then `--reloads` (20) reloads of chat
through the management API while the same load runs: sockets the server closed, messages
missing or repeated at any socket, and p99 latency of messages sent during a reload.

    .venv/bin/python benchmarks/chat.py [--quick] [--clients 2000] [--seconds 10] [--rounds 5]
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import tomllib
import urllib.request
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    PYTHON,
    REPO,
    clean_env,
    free_port,
    machine_info,
    mindframe_command,
    server,
    uvicorn_command,
)

GOAL_RATIO = 0.5
HERE = Path(__file__).resolve().parent


def raise_fd_limit() -> None:
    """2,000 sockets each side: the servers and the load process inherit the hard limit."""
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def other_builtins() -> list[str]:
    """Every built-in plugin but chat, to disable: the subject serves chat alone."""
    names = []
    for manifest in (REPO / "plugins").rglob("plugin.toml"):
        name = tomllib.loads(manifest.read_text())["name"]
        if name != "chat" and "tests" not in manifest.parts:
            names.append(name)
    return sorted(names)


def load(
    url: str, protocol: str, args: argparse.Namespace, seconds: float, *signals: str
) -> dict[str, Any]:
    """Run the load process against `url`; `signals` are its --started-file and --stop-file."""
    command = [
        PYTHON, str(HERE / "_chat_load.py"),
        "--url", url,
        "--protocol", protocol,
        "--clients", str(args.clients),
        "--per-room", str(args.per_room),
        "--seconds", str(seconds),
    ]  # fmt: skip
    if signals:
        command += ["--started-file", signals[0], "--stop-file", signals[1]]
    done = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 300)
    if done.returncode != 0:
        raise RuntimeError(f"load generator failed: {done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def latencies(result: dict[str, Any]) -> list[float]:
    return [latency for _, latency in result["arrivals"]]


def reload_repeatedly(
    url: str, count: int, gap: float, signals: tuple[Path, Path], windows: list, errors: list
) -> None:
    """Once the load sends (its started file exists), reload chat `count` times, `gap` s
    apart, recording each reload's wall-clock window; then tell the load to stop."""
    started, stop = signals
    deadline = time.monotonic() + 300
    while not started.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(1.0)  # a second of load before the first reload
    for _ in range(count):
        began = time.time()
        request = urllib.request.Request(f"{url}/api/kernel/plugins/chat/reload", method="POST")
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                body = json.loads(response.read())
                if not body.get("ok"):
                    errors.append(body)
        except Exception as error:
            errors.append(repr(error))
        windows.append((began, time.time()))
        time.sleep(gap)
    time.sleep(1.0)
    stop.write_text("stop")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="400 clients, 3 s, 1 round, 5 reloads")
    parser.add_argument("--clients", type=int, default=2000)
    parser.add_argument("--per-room", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--reloads", type=int, default=20)
    args = parser.parse_args()
    if args.quick:
        args.clients, args.seconds, args.rounds, args.reloads = 400, 3.0, 1, 5
    raise_fd_limit()
    print(f"machine: {machine_info()}")
    print(
        f"{args.clients} clients in rooms of {args.per_room}, {args.seconds:g} s a round, "
        f"{args.rounds} rounds, then {args.reloads} reloads under load"
    )
    with tempfile.TemporaryDirectory(prefix="chatbench-") as data:
        subject_port, anchor_port = free_port(), free_port()
        subject_url = f"http://127.0.0.1:{subject_port}"
        anchor_url = f"http://127.0.0.1:{anchor_port}"
        env = clean_env(
            MINDFRAME_DATA_DIR=data,
            MINDFRAME_DISABLED=json.dumps(other_builtins()),
            MINDFRAME_LOG_LEVEL="WARNING",
        )
        subject_cmd = [*mindframe_command(), "run", "--port", str(subject_port), "--no-access-log"]
        with (
            server(subject_cmd, f"{subject_url}/health", env=env, cwd=Path(data),
                   log_path=Path(data) / "subject.log"),
            server(uvicorn_command(HERE, anchor_port, "_chat_bare_app:app"),
                   f"{anchor_url}/health", env=clean_env()),
        ):  # fmt: skip
            rounds = []
            for index in range(args.rounds):
                order = [("chat", subject_url), ("bare", anchor_url)]
                if index % 2:
                    order.reverse()
                results = {protocol: load(url, protocol, args, args.seconds)
                           for protocol, url in order}  # fmt: skip
                rounds.append(results)
                subject, anchor = results["chat"], results["bare"]
                print(
                    f"round {index + 1}: chat {subject['messages_per_s']:.0f} msg/s "
                    f"(p50 {percentile(latencies(subject), 0.5) * 1000:.1f} ms, "
                    f"p99 {percentile(latencies(subject), 0.99) * 1000:.1f} ms), "
                    f"bare {anchor['messages_per_s']:.0f} msg/s "
                    f"(p50 {percentile(latencies(anchor), 0.5) * 1000:.1f} ms, "
                    f"p99 {percentile(latencies(anchor), 0.99) * 1000:.1f} ms), "
                    f"ratio {subject['messages_per_s'] / anchor['messages_per_s']:.2f}; "
                    f"missing/repeated chat {subject['missing']}/{subject['repeated']}"
                )
            windows: list[tuple[float, float]] = []
            errors: list[Any] = []
            signals = (Path(data) / "started", Path(data) / "stop")
            reloader = threading.Thread(
                target=reload_repeatedly,
                args=(subject_url, args.reloads, 0.5, signals, windows, errors),
                daemon=True,
            )
            reloader.start()
            under_reload = load(subject_url, "chat", args, 600, *map(str, signals))
            reloader.join(timeout=120)
    report(args, rounds, under_reload, windows, errors)


def report(args, rounds, under_reload, windows, errors) -> None:
    if rounds:
        compare(rounds)
    reloads(under_reload, windows, errors)


def compare(rounds: list[dict[str, Any]]) -> None:
    ratios = [r["chat"]["messages_per_s"] / r["bare"]["messages_per_s"] for r in rounds]
    subject_rates = [r["chat"]["messages_per_s"] for r in rounds]
    anchor_rates = [r["bare"]["messages_per_s"] for r in rounds]
    subject_latency = [x for r in rounds for x in latencies(r["chat"])]
    anchor_latency = [x for r in rounds for x in latencies(r["bare"])]
    ratio = statistics.median(ratios)
    print()
    print("| server | messages/s (median) | deliveries/s | fan-out p50 ms | p99 ms |")
    print("| --- | --- | --- | --- | --- |")
    for name, rates, lat, key in (
        ("chat plugin (stored, numbered)", subject_rates, subject_latency, "chat"),
        ("bare Litestar broadcast", anchor_rates, anchor_latency, "bare"),
    ):
        deliveries = statistics.median(r[key]["deliveries_per_s"] for r in rounds)
        print(
            f"| {name} | {statistics.median(rates):.0f} | {deliveries:.0f} | "
            f"{percentile(lat, 0.5) * 1000:.1f} | {percentile(lat, 0.99) * 1000:.1f} |"
        )
    rounds_text = ", ".join(f"{r:.2f}" for r in ratios)
    met = "met" if ratio >= GOAL_RATIO else "NOT met"
    print(f"\nratio {ratio:.2f} (rounds {rounds_text}); goal >= {GOAL_RATIO}: {met}")


def reloads(under_reload: dict[str, Any], windows: list, errors: list) -> None:
    during = [
        latency
        for sent_at, latency in under_reload["arrivals"]
        if any(start <= sent_at <= end + 0.05 for start, end in windows)
    ]
    outside = [
        latency
        for sent_at, latency in under_reload["arrivals"]
        if not any(start <= sent_at <= end + 0.05 for start, end in windows)
    ]
    reload_ms = [(end - start) * 1000 for start, end in windows]
    print(
        f"\n{len(windows)} reloads of chat under load ({len(errors)} failed"
        f"{': ' + str(errors[:3]) if errors else ''}), each {statistics.median(reload_ms):.0f} ms "
        f"(median, request to answer): {under_reload['messages']} messages, "
        f"{under_reload['messages_per_s']:.0f} msg/s; sockets closed by the server: "
        f"{under_reload['closed_by_server']}; messages missing {under_reload['missing']}, "
        f"repeated {under_reload['repeated']}, out of order {under_reload['out_of_order']}"
    )
    print(
        f"latency of messages sent during a reload: p50 {percentile(during, 0.5) * 1000:.1f} ms, "
        f"p99 {percentile(during, 0.99) * 1000:.1f} ms ({len(during)} arrivals); "
        f"outside reloads p50 {percentile(outside, 0.5) * 1000:.1f} ms, "
        f"p99 {percentile(outside, 0.99) * 1000:.1f} ms"
    )
    lossless = under_reload["closed_by_server"] == 0 and under_reload["missing"] == 0
    print(f"goal: 0 sockets closed, 0 messages lost: {'met' if lossless else 'NOT met'}")


if __name__ == "__main__":
    main()
