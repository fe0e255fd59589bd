"""Source of the throw-away plugins the sandbox tests run in child processes."""

WORKER = """
import ctypes
import os
import socket
import time
from dataclasses import dataclass
from typing import Any

from litestar import Request, get, post
from litestar.response import Stream
from mindframe.sdk import Event, hookimpl


class Ping(Event):
    topic = "sbx.ping"
    n: int


class Pong(Event):
    topic = "sbx.pong"
    n: int


class Secret(Event):
    topic = "secret.plans"


CTX: Any = None
seen: list[int] = []
refused: list[str] = []


@dataclass
class Greeting:
    text: str
    pid: int


@get("/hello")
async def hello() -> dict[str, Any]:
    return {"hello": "sandbox", "pid": os.getpid()}


@get("/greeting")
async def greeting() -> Greeting:
    return Greeting(text="hello", pid=os.getpid())


@get("/", media_type="text/html")
async def home() -> str:
    return f"<h1>worker</h1><p>{os.getpid()}</p>"


@get("/about/{who:str}", media_type="text/html")
async def about(who: str) -> str:
    return f"<p>about {who}</p>"


@post("/upper")
async def upper(request: Request) -> Stream:
    # Read the request as it streams in, then stream the answer (Litestar's Stream listens
    # for a disconnect on `receive`, so it cannot also read the body while sending).
    chunks = [chunk async for chunk in request.stream()]

    async def answer():
        for chunk in chunks:
            yield chunk.upper()

    return Stream(answer(), headers={"x-chunks": str(len(chunks))})


@get("/count/{n:int}")
async def count(n: int) -> Stream:
    async def lines():
        for i in range(n):
            yield f"{i}\\n".encode()

    return Stream(lines())


@post("/publish/{n:int}")
async def publish(n: int) -> dict[str, str]:
    return {"id": await CTX.publish(Pong(n=n))}


@post("/publish-secret")
async def publish_secret() -> dict[str, str]:
    try:
        await CTX.publish(Secret())
    except PermissionError as error:
        return {"refused": f"{type(error).__name__}: {error}"}
    return {"refused": ""}


@post("/connect")
async def connect() -> dict[str, str]:
    try:
        socket.create_connection(("192.0.2.1", 80), timeout=0.5)
    except PermissionError as error:
        return {"refused": f"{type(error).__name__}: {error}"}
    except OSError as error:
        return {"refused": f"not refused by the sandbox: {error}"}
    return {"refused": ""}


@get("/state")
async def state() -> dict[str, Any]:
    return {"seen": seen, "refused": refused}


@post("/abort")
async def abort() -> None:
    os.abort()


@post("/segfault")
async def segfault() -> None:
    ctypes.string_at(0)


@post("/exit")
async def leave() -> None:
    raise SystemExit("the plugin gave up")


@post("/hang")
async def hang() -> None:
    time.sleep(3600)


@post("/hog")
async def hog() -> dict[str, int]:
    blob = bytearray(1024 * 1024 * 1024)
    return {"size": len(blob)}


@post("/spin")
async def spin() -> None:
    while True:
        pass


async def on_ping(event: Ping) -> None:
    seen.append(event.n)
    await CTX.publish(Pong(n=event.n * 10))


@hookimpl
def register_subscriptions(ctx: Any) -> None:
    global CTX
    CTX = ctx
    ctx.subscribe("sbx.ping", on_ping)
    try:
        ctx.subscribe("secret.>", on_ping)
    except PermissionError as error:
        refused.append(str(error))


@hookimpl
def register_routes(ctx: Any) -> list[Any]:
    return [hello, greeting, upper, count, publish, publish_secret, connect, state, abort,
            segfault, leave, hang, hog, spin]


@hookimpl
def register_pages(ctx: Any) -> list[Any]:
    return [home, about]


@hookimpl
def health(ctx: Any) -> dict[str, Any]:
    return {"ok": True, "seen": len(seen)}


@hookimpl
def snapshot_state(ctx: Any) -> Any:
    return {"seen": seen}


@hookimpl
def restore_state(ctx: Any, state: Any) -> None:
    seen[:0] = state["seen"]
"""

WORKER_PERMISSIONS = """
publish = ["sbx.pong"]
subscribe = ["sbx.*"]
"""

BYSTANDER = """
from typing import Any

from litestar import get
from mindframe.sdk import hookimpl


@get("/ok")
async def ok() -> dict[str, bool]:
    return {"ok": True}


@hookimpl
def register_routes(ctx: Any) -> list[Any]:
    return [ok]
"""

FAILING_STARTUP = """
from mindframe.sdk import hookimpl


@hookimpl
async def startup(ctx) -> None:
    raise RuntimeError("no database configured")
"""

HOSTILE = """
import _socket
import os
import sqlite3
import sys
import time
from typing import Any

from litestar import get, post
from mindframe.sdk import hookimpl

held: list[Any] = []  # whatever it got hold of, kept


def attempt(action) -> str:
    try:
        held.append(action())
    except Exception as error:
        return f"refused: {type(error).__name__}: {error}"
    return "done"


def lock(path: str) -> Any:
    connection = sqlite3.connect(path, timeout=0, isolation_level=None)
    connection.execute("BEGIN EXCLUSIVE")
    return connection


@get("/files")
async def files(path: str) -> dict[str, str]:
    folder = os.path.dirname(path)
    return {
        "read": attempt(lambda: open(path, "rb").read(16)),
        "append": attempt(lambda: open(path, "ab").write(b"admin-token")),
        "create": attempt(lambda: open(os.path.join(folder, "planted"), "wb").write(b"x")),
        "list": attempt(lambda: os.listdir(folder)),
        "lock": attempt(lambda: lock(path)),
    }


@get("/environment")
async def environment() -> dict[str, Any]:
    parent = os.getppid()
    return {
        "env": dict(os.environ),
        "parent_environ": attempt(lambda: open(f"/proc/{parent}/environ", "rb").read()),
    }


@get("/who")
async def who() -> dict[str, Any]:
    return {
        "uid": os.getuid(),
        "euid": os.geteuid(),
        "gid": os.getgid(),
        "groups": os.getgroups(),
        "signal_parent": attempt(lambda: os.kill(os.getppid(), 0)),
        "workdir": os.getcwd(),
        "write_workdir": attempt(lambda: open("scratch", "w").write("mine")),
    }


@get("/raw-connect")
async def raw_connect(port: int) -> dict[str, str]:
    def tcp() -> Any:
        sock = _socket.socket(_socket.AF_INET, _socket.SOCK_STREAM)
        sock.connect(("127.0.0.1", port))
        return sock

    def udp() -> Any:
        sock = _socket.socket(_socket.AF_INET, _socket.SOCK_DGRAM)
        sock.sendto(b"leak", ("127.0.0.1", port))
        return sock

    return {"tcp": attempt(tcp), "udp": attempt(udp)}


@post("/spawn/{n:int}")
async def spawn(n: int) -> dict[str, Any]:
    pids, errors = [], []
    for _ in range(n):
        try:
            pid = os.fork()
        except OSError as error:
            errors.append(str(error))
            continue
        if pid == 0:  # a grandchild that leaves the child's session and stays
            os.setsid()
            time.sleep(3600)
            os._exit(0)
        pids.append(pid)
    return {"pids": pids, "errors": errors}


@post("/print/{megabytes:int}")
async def flood(megabytes: int) -> dict[str, int]:
    line = "x" * 199 + "\\n"
    count = megabytes * 1024 * 1024 // len(line)
    for _ in range(count):
        sys.stdout.write(line)
    sys.stdout.flush()
    return {"written": count * len(line)}


@post("/print-line/{size:int}")
async def one_line(size: int) -> None:
    print("L" * size, flush=True)


@post("/hang")
async def hang() -> None:
    time.sleep(3600)


@hookimpl
def register_routes(ctx: Any) -> list[Any]:
    return [files, environment, who, raw_connect, spawn, flood, one_line, hang]
"""
