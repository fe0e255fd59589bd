"""Spools: durable intake without a transaction per request.

An intake that must promise "accepted means durable" writes the raw request to its spool
before it answers, and a background job works through the spool later::

    spool = ctx.spool("inbox")                  # in startup; shared across reloads
    at = spool.append(body)                     # one write(2): durable against a crash
    batch = spool.read(cursor, limit=500)       # in the job, from the committed cursor
    ...                                         # store the work and batch.next together
    spool.release(batch.next)                   # delete the segments before it

Durability is that of SQLite's WAL with `synchronous=NORMAL`: a killed process loses
nothing, a power cut may lose the last moments. A record torn by a crash mid-write is
skipped and reported once; everything before it is read. See `mindframe.kernel.spool`.
"""

from mindframe.kernel.spool import Batch, Record, Spool, SpoolBusy, SpoolReader, TornRecord

__all__ = ["Batch", "Record", "Spool", "SpoolBusy", "SpoolReader", "TornRecord"]
