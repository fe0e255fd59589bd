"""A child's stdout and stderr in the kernel's log: line by line, cut, and rate-limited.

A plugin that prints a flood must not fill the server's log: a line longer than
`LINE_MAX` bytes is cut (its end counted in `… [cut N bytes]`), at most `RATE` bytes a
second are logged (bursts up to `BURST`), and what is dropped is counted and said in a
`… suppressed N bytes of output` line, at most once a second while the flood lasts and
within a second after it ends.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Callable

LINE_MAX = 2000
RATE = 32 * 1024
BURST = 128 * 1024
NOTE_EVERY = 1.0
CHUNK = 64 * 1024

log = logging.getLogger("mindframe.sandbox.output")


class OutputLimiter:
    """Turns the bytes a child writes into log lines under a byte budget (token bucket)."""

    def __init__(
        self, plugin: str, *, rate: int = RATE, burst: int = BURST, clock: Callable[[], float]
    ) -> None:
        self.plugin = plugin
        self.rate = rate
        self.burst = burst
        self.clock = clock
        self.tokens = float(burst)
        self.updated = self.noted = clock()
        self.line = bytearray()  # the current line's first LINE_MAX bytes
        self.length = 0  # the current line's full length so far
        self.suppressed = 0

    def feed(self, chunk: bytes) -> None:
        now = self.clock()
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens < LINE_MAX:
            self._skip(chunk, now)
            return
        start = 0
        while True:
            end = chunk.find(b"\n", start)
            piece = chunk[start:] if end < 0 else chunk[start:end]
            self.line += piece[: LINE_MAX - len(self.line)]
            self.length += len(piece)
            if end < 0:
                return
            self._finish_line(now)
            start = end + 1

    def _skip(self, chunk: bytes, now: float) -> None:
        """Over budget: count the chunk without splitting it; keep only the unfinished tail."""
        newline = chunk.rfind(b"\n")
        if newline < 0:
            self.length += len(chunk)
            return
        self.suppressed += self.length + newline + 1
        tail = chunk[newline + 1 :]
        self.line = bytearray(tail[:LINE_MAX])
        self.length = len(tail)
        if now - self.noted >= NOTE_EVERY:
            self._note(now)

    def _finish_line(self, now: float) -> None:
        cost = len(self.line)
        if self.tokens < cost:
            self.suppressed += self.length + 1
        else:
            if self.suppressed:
                self._note(now)
            self.tokens -= cost
            text = self.line.decode(errors="replace").rstrip("\r")
            if self.length > len(self.line):
                text += f" … [cut {self.length - len(self.line)} bytes]"
            log.info("[sandbox %s] %s", self.plugin, text)
        self.line = bytearray()
        self.length = 0

    def _note(self, now: float) -> None:
        log.warning(
            "[sandbox %s] … suppressed %d bytes of output (more than %d KiB/s)",
            self.plugin,
            self.suppressed,
            self.rate // 1024,
        )
        self.suppressed = 0
        self.noted = now

    def quiet(self) -> None:
        """Nothing came for a while: say what was suppressed, if anything."""
        if self.suppressed:
            self._note(self.clock())

    def close(self) -> None:
        """The child's output ended: log its unfinished last line and what was suppressed."""
        if self.length:
            self._finish_line(self.clock())
        if self.suppressed:
            self._note(self.clock())


class OutputRelay:
    """The read end of a child's stdout and stderr pipe, logged through an OutputLimiter."""

    def __init__(self, transport: asyncio.ReadTransport, reader: asyncio.StreamReader) -> None:
        self.transport = transport
        self.reader = reader

    @classmethod
    async def open(cls, read_fd: int) -> OutputRelay:
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader(limit=CHUNK)
        pipe = os.fdopen(read_fd, "rb", buffering=0)
        transport, _ = await loop.connect_read_pipe(
            lambda: asyncio.StreamReaderProtocol(reader), pipe
        )
        return cls(transport, reader)

    async def run(self, plugin: str) -> None:
        """Log what the child writes until every writer has closed the pipe."""
        limiter = OutputLimiter(plugin, clock=time.monotonic)
        try:
            while True:
                try:
                    chunk = await asyncio.wait_for(self.reader.read(CHUNK), NOTE_EVERY)
                except TimeoutError:
                    limiter.quiet()
                    continue
                if not chunk:
                    return
                limiter.feed(chunk)
        finally:
            limiter.close()

    def close(self) -> None:
        self.transport.close()
