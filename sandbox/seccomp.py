"""A seccomp filter that leaves a process no way to open a socket.

`socket(2)` fails with EACCES for every address family, so neither Python's `socket` nor a
raw `_socket` nor a C extension can reach the network or a Unix socket of the host.
`socketpair(2)` stays allowed: it only connects a process to itself (asyncio needs one).
`io_uring_setup(2)` is refused too, since io_uring can create sockets without
`socket(2)`. System calls of another ABI (32-bit `int 0x80`, x32) are refused outright:
their numbers differ, so the filter could not check them.
"""

from __future__ import annotations

import ctypes
import errno
import platform
import struct

_PR_SET_SECCOMP, _SECCOMP_MODE_FILTER = 22, 2
_RET_ALLOW = 0x7FFF0000
_RET_ERRNO = 0x00050000
_X32_BIT = 0x40000000
_ARCHES = {
    # machine: (AUDIT_ARCH_..., socket, io_uring_setup)
    "x86_64": (0xC000003E, 41, 425),
    "aarch64": (0xC00000B7, 198, 425),
}
_LOAD, _JEQ, _JGE, _RET = 0x20, 0x15, 0x35, 0x06  # BPF_LD|W|ABS, BPF_JMP|JEQ|K, |JGE|K, BPF_RET|K

_libc = ctypes.CDLL(None, use_errno=True)


def supported() -> bool:
    return platform.machine() in _ARCHES


def _program(arch: int, socket: int, io_uring_setup: int) -> bytes:
    def op(code: int, k: int, jt: int = 0, jf: int = 0) -> bytes:
        return struct.pack("=HBBI", code, jt, jf, k)

    deny = _RET_ERRNO | errno.EACCES
    return b"".join(
        [
            op(_LOAD, 4),  # seccomp_data.arch
            op(_JEQ, arch, 1, 0),
            op(_RET, _RET_ERRNO | errno.ENOSYS),
            op(_LOAD, 0),  # seccomp_data.nr
            op(_JGE, _X32_BIT, 3, 0),
            op(_JEQ, socket, 2, 0),
            op(_JEQ, io_uring_setup, 1, 0),
            op(_RET, _RET_ALLOW),
            op(_RET, deny),
        ]
    )


def forbid_sockets() -> bool:
    """Install the filter on this thread and its future children (needs `no_new_privs`).
    Returns False, changing nothing, on an architecture the filter does not know."""
    machine = platform.machine()
    if machine not in _ARCHES:
        return False
    program = _program(*_ARCHES[machine])
    buffer = ctypes.create_string_buffer(program, len(program))
    fprog = struct.pack("=HxxxxxxQ", len(program) // 8, ctypes.addressof(buffer))
    fprog_buffer = ctypes.create_string_buffer(fprog, len(fprog))
    mode = ctypes.c_ulong(_SECCOMP_MODE_FILTER)
    if _libc.prctl(_PR_SET_SECCOMP, mode, fprog_buffer, ctypes.c_ulong(0), ctypes.c_ulong(0)):
        error = ctypes.get_errno()
        raise OSError(error, f"seccomp filter: {errno.errorcode.get(error, error)}")
    return True
