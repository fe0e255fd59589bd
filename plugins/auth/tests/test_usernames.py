"""Usernames are one form per name: NFKC and case-folded for comparison, without control,
format or space characters, and without letters of scripts that do not belong together."""

import pytest
from auth_testlib import PASSWORD, add_user, csrf_of, login, service
from mindframe_plugins.auth.models import users
from mindframe_plugins.auth.service import now
from sqlalchemy import insert

pytestmark = pytest.mark.anyio
FULLWIDTH_ADA = "\uff21\uff44\uff41"
CYRILLIC_A = "\u0430"


async def test_a_name_signs_in_and_locks_out_in_every_form_that_normalises_to_it(boot):
    async with boot(max_failed_logins=3) as kernel:
        made = await add_user(kernel, "Ada")
        assert made["username"] == "ada"
        for form in ("ada", "ADA", FULLWIDTH_ADA):
            signed_in = await login(kernel.client, form)
            assert (signed_in.status_code, signed_in.json()["user"]["username"]) == (200, "ada")
        with pytest.raises(ValueError, match="already exists"):
            await add_user(kernel, "aDA")
        for form in ("ada", "ADA", FULLWIDTH_ADA):
            assert (await login(kernel.client, form, "wrong password")).status_code == 401
        assert (await login(kernel.client, "ada")).status_code == 429


@pytest.mark.parametrize(
    ("username", "named"),
    [
        ("bell\u0007", "U+0007"),
        ("zero\u200bwidth", "U+200B ZERO WIDTH SPACE"),
        ("\u202eadmin", "U+202E RIGHT-TO-LEFT OVERRIDE"),
        ("two words", "U+0020 SPACE"),
        ("no\u00a0break", "U+0020 SPACE"),  # NFKC makes it a plain space
        ("tab\tname", "U+0009"),
    ],
)
async def test_a_name_with_control_format_or_space_characters_is_refused(boot, username, named):
    async with boot() as kernel:
        await add_user(kernel, "root", admin=True)
        csrf = await csrf_of(kernel.client, "root")
        user = {"username": username, "password": PASSWORD}
        refused = await kernel.client.post("/api/auth/users", json=user, headers=csrf)
        assert refused.status_code == 400
        assert named in refused.json()["detail"]


async def test_a_name_mixing_scripts_is_refused_and_a_name_in_one_script_is_not(boot):
    async with boot() as kernel:
        with pytest.raises(ValueError, match="cannot mix the scripts Cyrillic, Latin"):
            await add_user(kernel, CYRILLIC_A + "dmin")
        with pytest.raises(ValueError, match="Greek, Latin"):
            await add_user(kernel, "payp\u03b1l")
        for fine in ("\u0430\u043d\u044f", "Zo\u00eb", "\u5c71\u7530\u305f\u308d\u3046", "ops_2"):
            assert (await add_user(kernel, fine))["username"] == fine.casefold()


async def test_users_made_before_normalisation_sign_in_by_their_normal_form(boot):
    async with boot() as kernel:
        auth = service(kernel)
        await add_user(kernel, "bob")
        hashed = await auth.passwords.hash(PASSWORD)
        async with auth.ctx.session() as session:
            for user_id, name in [("old-1", "Grace"), ("old-2", "Bob")]:
                row = {"id": user_id, "username": name, "password_hash": hashed}
                await session.execute(
                    insert(users).values(**row, is_admin=False, roles=[], created_at=now())
                )
            await session.commit()
    async with boot() as kernel:
        names = [user["username"] for user in await service(kernel).list_users()]
        assert sorted(names) == ["Bob", "bob", "grace"]
        for form in ("grace", "Grace", "GRACE"):
            assert (await login(kernel.client, form)).status_code == 200
        assert (await login(kernel.client, "BOB")).json()["user"]["username"] == "bob"
