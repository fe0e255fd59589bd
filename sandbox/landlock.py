"""Landlock (Linux 5.13+): the kernel confines this process's file system and TCP access.

A ruleset *handles* every access right the running kernel knows (its ABI version); anything
handled and not granted by a rule is refused by the kernel with EACCES, whatever the file
modes say, for this process and every process it starts. Called through raw system calls
(ctypes): the three Landlock calls have the same numbers on every architecture.
"""

from __future__ import annotations

import ctypes
import os
import struct
from collections.abc import Iterable
from pathlib import Path

_CREATE_RULESET, _ADD_RULE, _RESTRICT_SELF = 444, 445, 446
_VERSION = 1  # LANDLOCK_CREATE_RULESET_VERSION
_RULE_PATH_BENEATH = 1

EXECUTE, WRITE_FILE, READ_FILE, READ_DIR = 1 << 0, 1 << 1, 1 << 2, 1 << 3
TRUNCATE, IOCTL_DEV = 1 << 14, 1 << 15
_FS_BY_ABI = {1: (1 << 13) - 1, 2: (1 << 14) - 1, 3: (1 << 15) - 1, 5: (1 << 16) - 1}
"""Every file-system right each ABI version knows (ABI 4 added none, only TCP)."""
_FILE_RIGHTS = EXECUTE | WRITE_FILE | READ_FILE | TRUNCATE | IOCTL_DEV
"""The rights a rule on a file (not a directory) may grant."""
_NET_TCP = 0b11  # bind and connect, ABI 4+
_SCOPES = 0b11  # abstract Unix sockets and signals outside the sandbox, ABI 6+

READ = EXECUTE | READ_FILE | READ_DIR
READ_WRITE_FILE = READ_FILE | WRITE_FILE | TRUNCATE
ALL = (1 << 16) - 1

_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long


def _call(number: int, *args: object) -> int:
    result = _libc.syscall(number, *args)
    if result < 0:
        error = ctypes.get_errno()
        raise OSError(error, f"landlock system call {number}: {os.strerror(error)}")
    return int(result)


def abi() -> int:
    """The Landlock ABI version the running kernel offers; 0 when it has none (too old,
    not built in, or not enabled at boot)."""
    try:
        return _call(_CREATE_RULESET, None, 0, _VERSION)
    except OSError:
        return 0


def _handled_fs(version: int) -> int:
    return _FS_BY_ABI[max(v for v in _FS_BY_ABI if v <= version)]


def restrict(grants: Iterable[tuple[Path, int]], *, deny_tcp: bool) -> int:
    """Confine this thread and its future children to `grants` (path, rights) — everything
    else on the file system is refused — and, with `deny_tcp`, forbid every TCP bind and
    connect. Also scopes signals and abstract Unix sockets to the sandbox (ABI 6+).

    Needs a single-threaded caller with `no_new_privs` set. Returns the ABI version
    enforced, 0 when the kernel has no Landlock (nothing was restricted)."""
    version = abi()
    if version == 0:
        return 0
    handled = _handled_fs(version)
    net = _NET_TCP if deny_tcp and version >= 4 else 0
    scoped = _SCOPES if version >= 6 else 0
    attr = ctypes.create_string_buffer(struct.pack("=QQQ", handled, net, scoped))
    ruleset = _call(_CREATE_RULESET, attr, ctypes.sizeof(attr) - 1, 0)
    try:
        for path, rights in grants:
            fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
            try:
                if not os.path.isdir(path):
                    rights &= _FILE_RIGHTS
                rule = ctypes.create_string_buffer(struct.pack("=Qi", rights & handled, fd))
                _call(_ADD_RULE, ruleset, _RULE_PATH_BENEATH, rule, 0)
            finally:
                os.close(fd)
        _call(_RESTRICT_SELF, ruleset, 0)
    finally:
        os.close(ruleset)
    return version
