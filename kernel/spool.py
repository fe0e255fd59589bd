"""Spools: append-only files an intake writes a request's raw body to before it answers, and a
background reader works through later (`ctx.spool(name)`).

Why: "accepted means durable" through a database costs a transaction per few requests (and
on SQLite a worker-thread hop and a commit). Appending one record with one `write` system
call costs a few microseconds and is exactly as durable against a killed process as
SQLite's WAL with `synchronous=NORMAL` (the kernel's setting): the bytes are in the
operating system's page cache once `write` returns, so a SIGKILL loses nothing; a power
cut can lose the last moments of both (neither calls fsync per commit).

Layout: `<data_dir>/spools/<plugin>/<name>/`, numbered segment files `<n>.spool` and a
`lock`. A record is a header (payload length, CRC-32 of the payload, little-endian 32-bit
each) and the payload. One process writes a spool (the lock says which); each time it is
opened it starts a new segment, and it starts another once a segment reaches
`segment_bytes`, so every segment but the one being written is closed.

Reading is by position, one integer (segment number and byte offset): `read(cursor)` gives
the records after `cursor` and the position after them. The reader stores that position
where it commits its own work (in the same transaction, so a crash never applies a record
twice nor skips one), then calls `release(position)`, which deletes the segments wholly
before it. A record cut short by a crash mid-write (a torn tail: too short, or a checksum
that does not match) can only end a closed segment; the reader reports it once, through the
plugin's `capture_exception` route, and goes on with the next segment. In the segment being
written, an incomplete record is one still being written: the reader stops before it.
"""

from __future__ import annotations

import fcntl
import logging
import os
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger(__name__)

HEADER = struct.Struct("<II")  # payload length, CRC-32 of the payload
OFFSET_BITS = 40  # a position is segment << 40 | offset: 1 TB a segment
SEGMENT_BYTES = 64 << 20
SUFFIX = ".spool"
MAX_RECORD = (1 << 32) - 1

ErrorReporter = Callable[[BaseException, dict[str, object]], None]


class SpoolBusy(RuntimeError):
    """Another process writes this spool."""


class TornRecord(RuntimeError):
    """A closed segment ends in bytes that are not a whole record (a crash mid-write)."""


def position(segment: int, offset: int) -> int:
    return segment << OFFSET_BITS | offset


def split(at: int) -> tuple[int, int]:
    """`at` as (segment number, byte offset)."""
    return at >> OFFSET_BITS, at & ((1 << OFFSET_BITS) - 1)


@dataclass(frozen=True, slots=True)
class Record:
    position: int  # where the record starts
    next: int  # the position after it
    data: bytes


@dataclass(frozen=True, slots=True)
class Batch:
    records: list[Record] = field(default_factory=list)
    next: int = 0
    """The position after what was read (torn tails skipped): the reader's next cursor."""


class Spool:
    """One spool, open for appending in this process until `close()`."""

    def __init__(
        self,
        directory: Path,
        *,
        segment_bytes: int = SEGMENT_BYTES,
        report_error: ErrorReporter | None = None,
    ) -> None:
        self.directory = directory
        self._segment_bytes = segment_bytes
        self._report_error = report_error
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        self._lock = os.open(directory / "lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self._lock)
            raise SpoolBusy(f"the spool {directory} is written by another process") from None
        self._reported: set[int] = set()
        self._fd = -1
        self._segment = 0
        self._size = 0
        segments = self.segments()
        self._open_segment((segments[-1] if segments else 0) + 1)

    # --- writing (the event loop) -------------------------------------------------------

    def append(self, data: bytes) -> int:
        """Write one record with one system call; its position once written (OSError when
        it could not be written whole: that segment is then closed and a new one begun)."""
        if self._fd < 0:
            raise RuntimeError(f"the spool {self.directory} is closed")
        if len(data) > MAX_RECORD:
            raise ValueError(f"a spool record holds at most {MAX_RECORD} bytes")
        header = HEADER.pack(len(data), zlib.crc32(data))
        start = self._size
        try:
            written = os.writev(self._fd, (header, data))
        except OSError:
            self._open_segment(self._segment + 1)
            raise
        self._size += written
        if written != len(header) + len(data):  # disk full: the rest never comes
            self._open_segment(self._segment + 1)
            raise OSError(f"the spool {self.directory} took {written} bytes of a record")
        at = position(self._segment, start)
        if self._size >= self._segment_bytes:
            self._open_segment(self._segment + 1)
        return at

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
            os.close(self._lock)

    @property
    def closed(self) -> bool:
        return self._fd < 0

    def _open_segment(self, number: int) -> None:
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND
        fd = os.open(self._path(number), flags, 0o600)
        old, self._fd, self._segment, self._size = self._fd, fd, number, 0
        if old >= 0:
            os.close(old)

    # --- reading (any thread) -----------------------------------------------------------

    def read(self, cursor: int, limit: int) -> Batch:
        """Up to `limit` records from `cursor` on (0: from the start); a torn tail of a
        closed segment is reported once and skipped."""
        return self.reader().read(cursor, limit, on_torn=self._torn)

    def reader(self) -> SpoolReader:
        """A reader of this spool for another process (a worker's, through
        `ctx.process_pool()`): it pickles, and reads what is written up to its `read`."""
        return SpoolReader(self.directory, self._segment if self._fd >= 0 else None)

    def _torn(self, number: int, offset: int) -> None:
        if number in self._reported:
            return
        self._reported.add(number)
        size = self._path(number).stat().st_size
        error = TornRecord(
            f"spool {self.directory}: segment {number} ends in {size - offset} bytes that "
            f"are not a whole record (from offset {offset}; a crash mid-write); skipped"
        )
        log.error("%s", error)
        if self._report_error is not None:
            self._report_error(error, {"spool": str(self.directory), "segment": number})

    def release(self, cursor: int) -> None:
        """Delete the segments wholly before `cursor` (never the one being written)."""
        first, _ = split(cursor)
        for number in self.segments():
            if number >= first or number == self._segment:
                break
            self._path(number).unlink(missing_ok=True)

    def segments(self) -> list[int]:
        """The numbers of the segment files, in order."""
        return segment_numbers(self.directory)

    def waiting_bytes(self, cursor: int) -> int:
        """Bytes of records (and torn tails) after `cursor`."""
        first, offset = split(cursor)
        total = 0
        for number in self.segments():
            if number >= first:
                size = self._path(number).stat().st_size
                total += size - (offset if number == first else 0)
        return max(0, total)

    def _path(self, number: int) -> Path:
        return segment_path(self.directory, number)


@dataclass(frozen=True, slots=True)
class SpoolReader:
    """Reads a spool's records from any thread or process; made by `Spool.reader()`.

    Why apart from `Spool`: a worker process that digests a batch reads the records itself,
    so the writer's process neither reads nor sends them. `writing_from` is the segment the
    writer was appending to when the reader was made: from it on, a record cut short is one
    still being written, and reading stops before it. Before it, such a tail was torn by a
    crash: `Spool.read` reports and skips it; a reader elsewhere raises `TornRecord`, for the
    writer's process to deal with."""

    directory: Path
    writing_from: int | None  # None: the spool is closed, every segment is

    def read(
        self, cursor: int, limit: int, on_torn: Callable[[int, int], None] | None = None
    ) -> Batch:
        """Up to `limit` records from `cursor` on (0: from the start). A torn tail of a
        closed segment goes to `on_torn(segment, offset)`, and reading goes on with the next
        segment; without `on_torn` it raises TornRecord."""
        records: list[Record] = []
        first, offset = split(cursor)
        at = cursor
        for number in segment_numbers(self.directory):
            if number < first:
                continue
            if number > first:
                offset = 0
            # a segment numbered above the writer's is one it is opening this moment
            active = self.writing_from is not None and number >= self.writing_from
            offset, complete = self._read_segment(number, offset, limit, records)
            at = position(number, offset)
            if len(records) >= limit or active:
                return Batch(records, at)
            if not complete:
                if on_torn is None:
                    raise TornRecord(
                        f"spool {self.directory}: segment {number} is torn at offset {offset}"
                    )
                on_torn(number, offset)
            at = position(number + 1, 0)
        return Batch(records, at)

    def _read_segment(
        self, number: int, offset: int, limit: int, records: list[Record]
    ) -> tuple[int, bool]:
        """Append the segment's whole records from `offset` to `records` (up to `limit` in
        all); the offset reached, and whether the segment's bytes ended there."""
        try:
            handle = segment_path(self.directory, number).open("rb")
        except FileNotFoundError:  # released meanwhile
            return offset, True
        with handle:
            size = os.fstat(handle.fileno()).st_size
            handle.seek(offset)
            while len(records) < limit and offset + HEADER.size <= size:
                length, checksum = HEADER.unpack(handle.read(HEADER.size))
                end = offset + HEADER.size + length
                if end > size:
                    break
                data = handle.read(length)
                if zlib.crc32(data) != checksum:
                    break
                records.append(Record(position(number, offset), position(number, end), data))
                offset = end
            return offset, offset >= size or len(records) >= limit


def segment_numbers(directory: Path) -> list[int]:
    """The numbers of a spool's segment files, in order."""
    return sorted(
        int(name[: -len(SUFFIX)])
        for name in os.listdir(directory)
        if name.endswith(SUFFIX) and name[: -len(SUFFIX)].isdigit()
    )


def segment_path(directory: Path, number: int) -> Path:
    return directory / f"{number:012d}{SUFFIX}"


class SpoolRegistry:
    """The spools open in this process, one per directory, shared by every loaded version of
    the plugin that asks for it and closed when none holds it."""

    def __init__(self) -> None:
        self._open: dict[Path, tuple[Spool, int]] = {}

    def acquire(self, directory: Path, report_error: ErrorReporter | None = None) -> Spool:
        directory = directory.resolve()
        found = self._open.get(directory)
        if found is not None and not found[0].closed:
            self._open[directory] = (found[0], found[1] + 1)
            return found[0]
        spool = Spool(directory, report_error=report_error)
        self._open[directory] = (spool, 1)
        return spool

    def release(self, spool: Spool) -> None:
        found = self._open.get(spool.directory)
        if found is None or found[0] is not spool:
            return
        if found[1] > 1:
            self._open[spool.directory] = (spool, found[1] - 1)
        else:
            del self._open[spool.directory]
            spool.close()


SPOOLS = SpoolRegistry()
"""This process's open spools (a spool's lock is per process, so the registry is too)."""
