"""Worker processes: CPU-heavy pure work off the server's GIL.

A plugin whose background work is mostly Python computation (decoding, scoring, solving)
takes turns with the requests for the one interpreter lock; a worker process runs beside
them on another core::

    pool = ctx.process_pool()                 # in startup; workers start on first use
    scores = await pool.run(score_all, rows)  # `score_all`: a module-level function of
                                              # the plugin's package, arguments pickled

Workers import the plugin's modules from the folder of the version that made the pool
(not its `__init__`), and stop when that version unloads: a reload never runs old code.
A worker that dies mid-call fails the call with `WorkerProcessError`; the next call starts
a new one. Sending arguments and results costs a pickle each way: worth it for work of a
millisecond or more per call. See `mindframe.kernel.process_pool`.
"""

from mindframe.kernel.process_pool import ProcessPool, WorkerProcessError

__all__ = ["ProcessPool", "WorkerProcessError"]
