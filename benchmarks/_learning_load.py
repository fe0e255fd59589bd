"""The learning benchmark's HTTP load: keep-alive connections in a process apart from the
server, each asking for a decision and then rewarding it, over and over.

Not a benchmark itself (the leading underscore keeps `benchmarks/run` from running it);
`benchmarks/learning.py` starts it. `--mode decide` only asks for decisions; `--mode pair`
rewards each one (1.0) before asking for the next. Every answer must be 200: anything else
stops the run with the answer. Prints one JSON line: requests, decisions and rewards per
second, request latency percentiles.

    python benchmarks/_learning_load.py URL POLICY --header "Authorization: Bearer ..."
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import time
from urllib.parse import urlsplit

LENGTH = re.compile(rb"(?i)content-length:\s*(\d+)")


async def connection(args: argparse.Namespace, stop_at: float, tally: dict) -> None:
    url = urlsplit(args.url)
    reader, writer = await asyncio.open_connection(url.hostname, url.port)
    credentials = "".join(f"{header}\r\n" for header in args.header)
    head = f"Host: {url.hostname}:{url.port}\r\n{credentials}Content-Type: application/json\r\n"

    async def post(path: str, body: bytes) -> dict:
        started = time.perf_counter()
        writer.write(
            f"POST {path} HTTP/1.1\r\n{head}Content-Length: {len(body)}\r\n\r\n".encode() + body
        )
        status = await reader.readuntil(b"\r\n\r\n")
        length = int(LENGTH.search(status).group(1))  # type: ignore[union-attr]
        answer = await reader.readexactly(length)
        if not status.startswith(b"HTTP/1.1 200"):
            raise RuntimeError(f"{path}: {status.decode(errors='replace')}{answer[:500]!r}")
        tally["latencies"].append(time.perf_counter() - started)
        return json.loads(answer)

    decide = f"/api/learning/policies/{args.policy}/decide"
    try:
        while time.monotonic() < stop_at:
            decision = await post(decide, b"{}")
            tally["decisions"] += 1
            if args.mode == "pair":
                await post(
                    f"/api/learning/decisions/{decision['decision_id']}/reward", b'{"reward": 1.0}'
                )
                tally["rewards"] += 1
    finally:
        writer.close()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url")
    parser.add_argument("policy")
    parser.add_argument("--header", action="append", default=[], help="sent with each request")
    parser.add_argument("--mode", choices=("decide", "pair"), default="pair")
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args()
    tally: dict = {"decisions": 0, "rewards": 0, "latencies": []}
    began = time.monotonic()
    stop_at = began + args.seconds
    await asyncio.gather(*(connection(args, stop_at, tally) for _ in range(args.connections)))
    elapsed = time.monotonic() - began
    latencies = sorted(tally["latencies"])
    print(
        json.dumps(
            {
                "mode": args.mode,
                "seconds": elapsed,
                "decisions_per_s": tally["decisions"] / elapsed,
                "rewards_per_s": tally["rewards"] / elapsed,
                "requests_per_s": len(latencies) / elapsed,
                "p50_ms": latencies[len(latencies) // 2] * 1e3,
                "p99_ms": latencies[int(len(latencies) * 0.99)] * 1e3,
                "decisions": tally["decisions"],
                "rewards": tally["rewards"],
            }
        )
    )


if __name__ == "__main__":
    asyncio.run(main())
