"""Change marks: a change one process makes, noticed by every other process sharing the data
directory for the price of one `stat`.

    mark = ctx.change_mark("identities")
    seen = mark.read()
    ...
    mark.bump()              # after changing what other processes may hold in memory
    if mark.read() != seen:  # on the hot path: something changed since `seen`
        forget_everything()

See `mindframe.kernel.change_marks` for how a mark is kept.
"""

from mindframe.kernel.change_marks import ChangeMark, Reading

__all__ = ["ChangeMark", "Reading"]
