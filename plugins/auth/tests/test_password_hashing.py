"""Password hashing under a burst: a bounded number of Argon2 runs at once, the rest queue,
and the event loop keeps serving meanwhile."""

import threading

import anyio
import pytest
from argon2 import PasswordHasher
from auth_testlib import add_user, login

pytestmark = pytest.mark.anyio


class HashesInside:
    """Counts the real hasher's `verify` calls running at once; each waits at `gate`
    until the test opens it, so the count is seen while they are held."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.now = self.most = 0
        self.gate = threading.Event()
        self._lock = threading.Lock()
        real = PasswordHasher.verify

        def verify(hasher: PasswordHasher, stored: str, password: str) -> bool:
            with self._lock:
                self.now += 1
                self.most = max(self.most, self.now)
            try:
                self.gate.wait(timeout=20)
                return real(hasher, stored, password)
            finally:
                with self._lock:
                    self.now -= 1

        monkeypatch.setattr(PasswordHasher, "verify", verify)


async def test_thirty_concurrent_wrong_logins_hash_two_at_a_time_while_health_answers(
    boot, monkeypatch
):
    hashes = HashesInside(monkeypatch)
    settings = {"max_concurrent_hashes": 2, "login_attempts_per_minute": 100}
    async with boot(**settings, max_failed_logins=100) as kernel:
        await add_user(kernel)
        statuses: list[int] = []

        async def wrong_login() -> None:
            statuses.append((await login(kernel.client, "ada", "not the password")).status_code)

        async with anyio.create_task_group() as burst:
            for _ in range(30):
                burst.start_soon(wrong_login)
            try:
                with anyio.fail_after(10):
                    while hashes.now < 2:
                        await anyio.sleep(0.01)
                with anyio.fail_after(10):
                    health = await kernel.client.get("/health")
                assert health.status_code == 200
                assert (hashes.now, hashes.gate.is_set()) == (2, False)
            finally:
                hashes.gate.set()
        assert statuses == [401] * 30
        assert hashes.most == 2


async def test_an_unknown_user_costs_a_full_verification_and_starting_costs_no_hash(monkeypatch):
    from mindframe_plugins.auth.passwords import Passwords
    from mindframe_plugins.auth.settings import AuthSettings

    def no_hashing(*_: object) -> str:
        raise AssertionError("start-up hashed a password")

    monkeypatch.setattr(PasswordHasher, "hash", no_hashing)
    settings = AuthSettings.model_construct(
        argon2_time_cost=1, argon2_memory_cost=8, argon2_parallelism=1, max_concurrent_hashes=1
    )
    passwords = Passwords(settings)
    checked: list[str] = []
    real = PasswordHasher.verify

    def verify(hasher: PasswordHasher, stored: str, password: str) -> bool:
        checked.append(stored)
        return real(hasher, stored, password)  # raises on a malformed hash

    monkeypatch.setattr(PasswordHasher, "verify", verify)
    assert not await passwords.verify(None, "a password nobody has")
    assert not await passwords.verify(None, "")
    [stored, _] = checked
    assert stored.startswith("$argon2id$v=19$m=8,t=1,p=1$")
