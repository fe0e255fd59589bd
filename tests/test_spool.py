"""Spools (`mindframe.kernel.spool`): what was appended is read back in order from a cursor,
a crash's torn record is skipped and reported while everything before and after it is read,
a reader in a worker process reads the same records (and leaves a torn one to the writer's
process), and a spool is written by one process and shared by a plugin's versions."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from mindframe.kernel.process_pool import ProcessPool
from mindframe.kernel.spool import SPOOLS, Spool, SpoolBusy, SpoolReader, TornRecord, split


def read_all(spool: Spool, cursor: int = 0, limit: int = 1000) -> tuple[list[bytes], int]:
    batch = spool.read(cursor, limit)
    return [record.data for record in batch.records], batch.next


def test_records_come_back_in_order_from_the_cursor(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "s")
    positions = [spool.append(f"record {n}".encode()) for n in range(5)]
    assert positions == sorted(positions)
    first, cursor = read_all(spool, limit=2)
    assert first == [b"record 0", b"record 1"]
    rest, cursor = read_all(spool, cursor)
    assert rest == [b"record 2", b"record 3", b"record 4"]
    assert read_all(spool, cursor) == ([], cursor)
    spool.append(b"later")
    assert read_all(spool, cursor)[0] == [b"later"]


def test_segments_rotate_and_released_ones_are_deleted(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "s", segment_bytes=100)
    for n in range(10):
        spool.append(bytes([n]) * 40)
    assert len(spool.segments()) == 4  # a segment is full at its third 48-byte record
    records, cursor = read_all(spool, limit=7)
    assert records == [bytes([n]) * 40 for n in range(7)]
    spool.release(cursor)
    assert spool.segments()[0] == split(cursor)[0]
    assert read_all(spool, cursor)[0] == [bytes([n]) * 40 for n in range(7, 10)]


def test_a_torn_last_record_is_skipped_and_reported_once(tmp_path: Path) -> None:
    reports: list[tuple[BaseException, dict[str, object]]] = []
    first = Spool(tmp_path / "s")
    for n in range(3):
        first.append(f"kept {n}".encode())
    first.close()
    segment = tmp_path / "s" / f"{first.segments()[-1]:012d}.spool"
    with segment.open("ab") as torn:  # a record cut short by a crash mid-write
        torn.write(b"\x40\x00\x00\x00\x00\x00\x00\x00half a rec")
    second = Spool(tmp_path / "s", report_error=lambda e, where: reports.append((e, where)))
    second.append(b"after the restart")
    records, _ = read_all(second)
    assert records == [b"kept 0", b"kept 1", b"kept 2", b"after the restart"]
    assert len(reports) == 1 and isinstance(reports[0][0], TornRecord)
    assert "18 bytes" in str(reports[0][0])
    read_all(second)
    assert len(reports) == 1


def test_a_record_whose_checksum_fails_ends_a_closed_segment(tmp_path: Path) -> None:
    first = Spool(tmp_path / "s")
    first.append(b"good")
    first.append(b"flipped")
    first.close()
    segment = tmp_path / "s" / f"{first.segments()[-1]:012d}.spool"
    data = bytearray(segment.read_bytes())
    data[-1] ^= 0xFF
    segment.write_bytes(bytes(data))
    second = Spool(tmp_path / "s")
    assert read_all(second)[0] == [b"good"]


def test_an_incomplete_record_in_the_segment_being_written_is_waited_for(tmp_path: Path) -> None:
    reports: list[BaseException] = []
    spool = Spool(tmp_path / "s", report_error=lambda e, where: reports.append(e))
    spool.append(b"whole")
    segment = tmp_path / "s" / f"{spool.segments()[-1]:012d}.spool"
    with segment.open("ab") as writing:  # as another thread sees a write still copying
        writing.write(b"\x05\x00\x00\x00")
    records, cursor = read_all(spool)
    assert records == [b"whole"] and reports == []
    assert read_all(spool, cursor) == ([], cursor)


@pytest.mark.anyio
async def test_a_reader_in_a_worker_process_reads_what_the_writer_appended(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "s", segment_bytes=100)
    for n in range(5):
        spool.append(bytes([n]) * 40)
    pool = ProcessPool("test", None, None, 1)
    try:
        there = await pool.run(SpoolReader.read, spool.reader(), 0, 4)
        assert await pool.run(os.getpid) != os.getpid()
    finally:
        await pool.close()
    assert [r.data for r in there.records] == [bytes([n]) * 40 for n in range(4)]
    assert there == spool.read(0, 4)
    spool.append(b"after the reader was made")  # read too: appended before its `read`
    assert spool.reader().read(there.next, 10).records[-1].data == b"after the reader was made"


def test_a_reader_elsewhere_raises_at_a_torn_tail_and_waits_at_one_being_written(
    tmp_path: Path,
) -> None:
    """Elsewhere nobody reports a torn tail: the reader raises, for the writer's process to
    report and skip it; in the segment being written it stops, as the writer's read does."""
    first = Spool(tmp_path / "s")
    first.append(b"kept")
    first.close()
    segment = tmp_path / "s" / f"{first.segments()[-1]:012d}.spool"
    with segment.open("ab") as torn:
        torn.write(b"\x40\x00\x00\x00\x00\x00\x00\x00half a rec")
    second = Spool(tmp_path / "s")
    second.append(b"new")
    with pytest.raises(TornRecord):
        second.reader().read(0, 10)
    assert [r.data for r in second.read(0, 10).records] == [b"kept", b"new"]
    writing = tmp_path / "s" / f"{second.segments()[-1]:012d}.spool"
    with writing.open("ab") as unfinished:
        unfinished.write(b"\x05\x00\x00\x00")
    skipped = second.read(0, 10).next
    assert second.reader().read(skipped, 10) == second.read(skipped, 10)  # nothing, no raise
    assert second.reader().read(skipped, 10).records == []


def test_what_a_killed_writer_appended_is_read_after_a_restart(tmp_path: Path) -> None:
    script = (
        "import os, sys\n"
        "from pathlib import Path\n"
        "from mindframe.kernel.spool import Spool\n"
        "spool = Spool(Path(sys.argv[1]))\n"
        "for n in range(500):\n"
        "    spool.append(b'%d' % n)\n"
        "print('written', flush=True)\n"
        "sys.stdin.read()\n"
    )
    writer = subprocess.Popen(
        [sys.executable, "-c", script, str(tmp_path / "s")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    assert writer.stdout is not None and writer.stdout.readline() == b"written\n"
    os.kill(writer.pid, signal.SIGKILL)
    writer.wait()
    spool = Spool(tmp_path / "s")
    assert read_all(spool)[0] == [b"%d" % n for n in range(500)]


def test_one_process_writes_a_spool(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "s")
    with pytest.raises(SpoolBusy):
        Spool(tmp_path / "s")
    spool.close()
    Spool(tmp_path / "s").close()


def test_the_registry_shares_one_open_spool_until_the_last_holder_lets_go(tmp_path: Path) -> None:
    old = SPOOLS.acquire(tmp_path / "s")
    new = SPOOLS.acquire(tmp_path / "s")  # a reload: the next version asks while the old serves
    assert new is old
    SPOOLS.release(old)
    assert not new.closed
    new.append(b"still open")
    SPOOLS.release(new)
    assert new.closed
    with pytest.raises(RuntimeError, match="closed"):
        new.append(b"too late")
