"""Auth on PostgreSQL, where columns keep their widths and concurrent writers race for real:
a name that grows past the column when normalised, and wrong passwords counted at once.
Skipped when PostgreSQL is not reachable at 127.0.0.1:5432."""

import anyio
import pytest
from auth_testlib import FAST, add_user, login

pytestmark = [pytest.mark.anyio, pytest.mark.postgres]
LIGATURE = "\ufdfa"  # NFKC makes this one character eighteen


@pytest.fixture
def boot_postgres(boot_kernel, postgres_url):
    def start(**auth_settings):
        settings = {"auth": {**FAST, **auth_settings}}
        return boot_kernel(["auth"], settings=settings, database_url=postgres_url)

    return start


async def test_a_name_longer_than_any_users_once_normalised_is_a_wrong_login(boot_postgres):
    async with boot_postgres() as kernel:
        refused = await login(kernel.client, LIGATURE * 150, "some password")
        assert refused.status_code == 401
        assert refused.json()["detail"] == "wrong username or password"


async def test_concurrent_wrong_passwords_each_count_on_postgresql(boot_postgres):
    async with boot_postgres(max_failed_logins=5, login_attempts_per_minute=100) as kernel:
        await add_user(kernel)
        statuses: list[int] = []

        async def guess(attempt: int) -> None:
            response = await login(kernel.client, "ada", f"guess number {attempt}")
            statuses.append(response.status_code)

        async with anyio.create_task_group() as burst:
            for attempt in range(12):
                burst.start_soon(guess, attempt)
        assert set(statuses) <= {401, 429}, statuses
        assert (await login(kernel.client)).status_code == 429
