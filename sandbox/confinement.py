"""What the OS enforces on a sandboxed plugin's child, applied before any plugin code runs.

In order, in the child, while it is still single-threaded:

1. when the kernel runs as root: a mount namespace of its own (and a network namespace of
   its own unless `network` is granted), in which the folders the child must read but a
   non-root uid could not reach (Python under a private home, the plugin under a private
   temporary folder) are made reachable by covering the closed ancestor with an empty
   tmpfs and bind-mounting just those folders into it;
2. resource limits (limits.py), the working directory of its own;
3. when the kernel runs as root: the child's own uid and gid, no supplementary groups
   (every capability is dropped with them);
4. `no_new_privs`, then Landlock: read-only Python, its packages, mindframe's code and the
   plugin folder, read-write its working directory, nothing else; no TCP unless `network`;
5. unless `network` is granted: a seccomp filter refusing `socket(2)`.

What could be applied is reported to the parent (`health` shows it); README.md says which
step needs what.
"""

from __future__ import annotations

import ctypes
import importlib.util
import os
import signal
import stat
import sys
from pathlib import Path
from typing import Any

from . import landlock, seccomp
from . import protocol as p
from .limits import apply_rlimits

_CLONE_NEWNS, _CLONE_NEWNET = 0x00020000, 0x40000000
_MS_NOSUID, _MS_NODEV, _MS_BIND, _MS_REC, _MS_PRIVATE = 0x2, 0x4, 0x1000, 0x4000, 1 << 18
_PR_SET_PDEATHSIG, _PR_SET_NO_NEW_PRIVS = 1, 38

SYSTEM_READ = (
    "/usr",
    "/lib",
    "/lib64",
    "/bin",
    "/etc/ld.so.cache",
    "/etc/localtime",
    "/etc/mime.types",
    "/etc/ssl/certs",
    "/etc/hosts",
    "/etc/resolv.conf",
    "/etc/nsswitch.conf",
    "/etc/gai.conf",
    "/dev/urandom",
    "/dev/random",
    "/dev/zero",
)
"""Shared libraries, time zones, MIME types, CA certificates, name resolution, random."""
SYSTEM_READ_WRITE = ("/dev/null",)
MINDFRAME_PACKAGES = ("kernel", "sdk", "sandbox", "locales")

_libc = ctypes.CDLL(None, use_errno=True)


class ConfinementError(RuntimeError):
    """The child could not be confined as its parent asked; it must not run plugin code."""


def _check(result: int, what: str) -> None:
    if result != 0:
        error = ctypes.get_errno()
        raise OSError(error, f"{what}: {os.strerror(error)}")


def _prctl(option: int, value: int) -> None:
    zero = ctypes.c_ulong(0)
    _check(_libc.prctl(option, ctypes.c_ulong(value), zero, zero, zero), f"prctl({option})")


def _mount(source: str | None, target: str, fstype: str | None, flags: int, data: str) -> None:
    def c(text: str | None) -> bytes | None:
        return text.encode() if text is not None else None

    result = _libc.mount(c(source), c(target), c(fstype), ctypes.c_ulong(flags), c(data))
    _check(result, f"mount {source} on {target}")


def readable_paths(folder: Path) -> list[Path]:
    """The folders the child must read: Python, its packages, mindframe's code, the plugin.
    Never the repository or the data folder as a whole."""
    found = {sys.prefix, sys.exec_prefix, sys.base_prefix, sys.base_exec_prefix, str(folder)}
    found.update(sys.path)
    for name in MINDFRAME_PACKAGES:
        spec = importlib.util.find_spec(f"mindframe.{name}")
        found.update(spec.submodule_search_locations or () if spec else ())
    # (sys.path may name a zip that is not there, or an import hook's placeholder)
    return outermost(
        Path(path).resolve() for path in found if os.path.isabs(path) and os.path.isdir(path)
    )


def outermost(paths: Any) -> list[Path]:
    """`paths` without those inside another of them."""
    result: list[Path] = []
    for path in sorted(set(paths), key=lambda p: len(p.parts)):
        if not any(path == kept or kept in path.parents for kept in result):
            result.append(path)
    return result


def _check_private(readable: list[Path], private: list[str]) -> None:
    for secret in map(Path, private):
        for path in readable:
            if path == secret or path in secret.parents:
                raise ConfinementError(
                    f"the sandbox would let the plugin read {path}, which holds {secret}: "
                    "move the kernel's data_dir out of it"
                )


def _closed_ancestor(path: Path) -> Path | None:
    """The topmost folder above `path` that users other than its owner cannot enter."""
    for ancestor in reversed(path.parents):
        if not os.stat(ancestor).st_mode & stat.S_IXOTH:
            return ancestor
    return None


def _expose(paths: list[Path]) -> None:
    """In this mount namespace, make each of `paths` reachable through its ancestors: each
    closed ancestor is covered by an empty tmpfs holding just bind mounts of those paths
    (the rest of it — a home folder, a private temporary folder — disappears)."""
    covered: dict[Path, list[Path]] = {}
    for path in paths:
        ancestor = _closed_ancestor(path)
        if ancestor is not None:
            covered.setdefault(ancestor, []).append(path)
    for ancestor, inside in covered.items():
        handles = [(path, os.open(path, os.O_PATH | os.O_CLOEXEC)) for path in inside]
        _mount("tmpfs", str(ancestor), "tmpfs", _MS_NOSUID | _MS_NODEV, "mode=0755,size=64k")
        for path, fd in handles:
            path.mkdir(parents=True, exist_ok=True)
            _mount(f"/proc/self/fd/{fd}", str(path), None, _MS_BIND | _MS_REC, "")
            os.close(fd)


def _namespaces(network: bool, expose: list[Path]) -> dict[str, bool]:
    """Own mount (and, without `network`, network) namespace, as root; best effort: a root
    without CAP_SYS_ADMIN (a container) goes on without, and says so."""
    flags = _CLONE_NEWNS | (0 if network else _CLONE_NEWNET)
    try:
        _check(_libc.unshare(ctypes.c_int(flags)), "unshare")
    except OSError:
        return {"mount_namespace": False, "network_namespace": False}
    _mount(None, "/", None, _MS_REC | _MS_PRIVATE, "")
    _expose(expose)
    return {"mount_namespace": True, "network_namespace": not network}


def _become(uid: int) -> None:
    os.setgroups([])
    os.setresgid(uid, uid, uid)
    os.setresuid(uid, uid, uid)


def _check_readable(paths: list[Path], uid: int) -> None:
    for path in paths:
        if not os.access(path, os.R_OK | os.X_OK):
            mode = stat.filemode(os.stat(path).st_mode)
            raise ConfinementError(
                f"the sandbox's uid {uid} cannot read {path} ({mode}): make it readable by "
                f"other users (chmod -R o+rX {path})"
            )


def _grants(readable: list[Path], workdir: Path) -> list[tuple[Path, int]]:
    grants = [(path, landlock.READ) for path in readable]
    grants += [(Path(path), landlock.READ) for path in SYSTEM_READ if os.path.exists(path)]
    grants += [(Path(path), landlock.READ_WRITE_FILE) for path in SYSTEM_READ_WRITE]
    return [*grants, (workdir, landlock.ALL)]


def confine(hello: p.Hello) -> dict[str, Any]:
    """Apply every confinement step this machine offers; raise ConfinementError when one the
    parent asked for (a uid of its own) cannot be had. Returns what is enforced."""
    if len(os.listdir("/proc/self/task")) != 1:
        raise ConfinementError("confinement must happen before the child starts a thread")
    parent = os.getppid()
    workdir = Path(hello.workdir)
    readable = readable_paths(Path(hello.folder))
    _check_private(readable, hello.private_paths)
    report: dict[str, Any] = {"mount_namespace": False, "network_namespace": False}
    if hello.uid is not None:
        if os.geteuid() != 0:
            raise ConfinementError(f"uid {hello.uid} asked for, but the child is not root")
        report.update(_namespaces(hello.network, [*readable, workdir]))
    processes = hello.processes if hello.uid is not None else None
    apply_rlimits(hello.memory_mb, hello.cpu_seconds, processes)
    os.chdir(workdir)
    if hello.uid is not None:
        _become(hello.uid)
        _check_readable(readable, hello.uid)
    report["uid"] = os.getuid()
    _prctl(_PR_SET_NO_NEW_PRIVS, 1)
    _prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)  # a change of uid cleared it
    if os.getppid() != parent:
        os._exit(1)  # the kernel died meanwhile
    report["landlock"] = landlock.restrict(_grants(readable, workdir), deny_tcp=not hello.network)
    report["seccomp"] = False if hello.network else seccomp.forbid_sockets()
    return report
