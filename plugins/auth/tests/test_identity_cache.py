"""Who a token is, remembered between requests, and forgotten the moment anything changes:
in this process, in another sharing the data directory (its change mark), on the bus, and
when the credential itself ends."""

import time
from datetime import UTC, datetime, timedelta

import anyio
import pytest
from auth_testlib import add_user, csrf_of, service, token_of
from mindframe_plugins.auth.identities import IdentitiesChanged, IdentityCache
from mindframe_plugins.auth.models import tokens
from sqlalchemy import update

from mindframe.sdk.auth import Identity
from mindframe.sdk.change_marks import ChangeMark

pytestmark = pytest.mark.anyio


async def works(kernel, bearer) -> bool:
    response = await kernel.client.get("/api/auth/me", headers=bearer)
    assert response.status_code in (200, 401), response.text
    return response.status_code == 200


async def revoke_behind_the_services_back(kernel) -> None:
    """What another process does to the database: the service here is not told."""
    async with service(kernel).ctx.session() as session:
        await session.execute(update(tokens).values(revoked_at=datetime.now(UTC)))
        await session.commit()


async def test_a_known_token_is_remembered_until_another_process_bumps_the_mark(boot, tmp_path):
    async with boot() as kernel:
        await add_user(kernel)
        bearer = await token_of(kernel, "ada", [])
        assert await works(kernel, bearer)
        await revoke_behind_the_services_back(kernel)
        assert await works(kernel, bearer)  # remembered: the database was not asked again
        # the CLI (another process on the same data directory) bumps the plugin's mark
        ChangeMark(tmp_path / "data" / "marks" / "auth" / "identities").bump()
        assert not await works(kernel, bearer)


async def test_a_change_announced_on_the_bus_by_another_process_is_heard(boot):
    async with boot(identity_recheck_seconds=600) as kernel:  # only the event can do it
        await add_user(kernel)
        bearer = await token_of(kernel, "ada", [])
        assert await works(kernel, bearer)
        await revoke_behind_the_services_back(kernel)
        await service(kernel).ctx.publish(IdentitiesChanged(origin="another-host-1"))
        with anyio.fail_after(10):  # delivery is asynchronous: wait for it, bounded
            while await works(kernel, bearer):
                await anyio.sleep(0.01)


async def test_a_role_change_reaches_a_remembered_token_at_once(boot):
    async with boot() as kernel:
        await add_user(kernel, roles_=["auditor"])
        await service(kernel).set_role("auditor", [])
        bearer = await token_of(kernel, "ada", ["*"])
        audit_log = "/api/auth/audit"
        assert (await kernel.client.get(audit_log, headers=bearer)).status_code == 403
        await service(kernel).set_role("auditor", ["auth.audit.read"])
        assert (await kernel.client.get(audit_log, headers=bearer)).status_code == 200


async def test_a_session_is_remembered_and_ended_by_logout_at_once(boot):
    async with boot() as kernel:
        await add_user(kernel)
        csrf = await csrf_of(kernel.client)
        session = dict(kernel.client.cookies)
        assert (await kernel.client.get("/api/auth/me")).status_code == 200
        assert (await kernel.client.post("/api/auth/logout", headers=csrf)).status_code == 204
        kernel.client.cookies.clear()
        kernel.client.cookies.update(session)  # the old cookie, replayed
        assert (await kernel.client.get("/api/auth/me")).status_code == 401


def test_a_remembered_identity_ends_when_its_credential_does(tmp_path):
    cache = IdentityCache(60, ChangeMark(tmp_path / "mark"))
    who = Identity(user_id="u1", username="ada")
    cache.put("soon", who, datetime.now(UTC) + timedelta(seconds=0.2), cache.generation)
    cache.put("later", who, datetime.now(UTC) + timedelta(days=1), cache.generation)
    assert cache.get("soon") is not None
    time.sleep(0.3)
    assert cache.get("soon") is None
    assert cache.get("later") is not None


def test_a_lookup_that_began_before_a_change_is_not_remembered(tmp_path):
    cache = IdentityCache(60, ChangeMark(tmp_path / "mark"))
    began = cache.generation
    cache.changed()  # a revocation lands while the lookup is in the database
    tomorrow = datetime.now(UTC) + timedelta(days=1)
    cache.put("token", Identity(user_id="u1", username="ada"), tomorrow, began)
    assert cache.get("token") is None
