"""Lockout counts every wrong password for a name: concurrent ones, and wrong current
passwords given to `/me/password`."""

import anyio
import pytest
from auth_testlib import NEW_PASSWORD, PASSWORD, add_user, audit_events, csrf_of, login

pytestmark = pytest.mark.anyio


async def test_concurrent_wrong_passwords_each_count_toward_the_lockout(boot):
    async with boot(max_failed_logins=5, login_attempts_per_minute=100) as kernel:
        await add_user(kernel)
        statuses: list[int] = []

        async def guess(attempt: int) -> None:
            response = await login(kernel.client, "ada", f"guess number {attempt}")
            statuses.append(response.status_code)

        async with anyio.create_task_group() as burst:
            for attempt in range(12):
                burst.start_soon(guess, attempt)
        assert set(statuses) <= {401, 429} and statuses.count(401) >= 5
        assert (await login(kernel.client)).status_code == 429
        assert (await audit_events(kernel)).count("lockout") >= 1


async def test_wrong_current_passwords_on_me_password_lock_the_account_out(boot):
    async with boot(max_failed_logins=3) as kernel:
        await add_user(kernel)
        csrf = await csrf_of(kernel.client)
        change = "/api/auth/me/password"
        for attempt in range(3):
            wrong = {"current": f"guess number {attempt}", "new": NEW_PASSWORD}
            refused = await kernel.client.post(change, json=wrong, headers=csrf)
            assert refused.status_code == 400
        right = {"current": PASSWORD, "new": NEW_PASSWORD}
        locked = await kernel.client.post(change, json=right, headers=csrf)
        assert locked.status_code == 429 and int(locked.headers["retry-after"]) > 0
        assert (await login(kernel.client)).status_code == 429
        events = await audit_events(kernel)
        assert events.count("password.failed") == 3
        assert "lockout" in events and "password.locked" in events
