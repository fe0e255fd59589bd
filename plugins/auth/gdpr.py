"""GDPR access and erasure across every plugin: each plugin's `export_personal_data` answer
becomes one JSON file in a zip; `erase_personal_data` is asked of every plugin, and the user
is removed only when all succeeded. An erasure that failed somewhere is kept in
`auth_erasures` and resumes on the next request."""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import asdict
from typing import Any

from sqlalchemy import delete, insert, select, update

from mindframe.sdk import HookOutcome, PluginContext, PluginHooks, ServiceError, Subject
from mindframe.sdk.auth import Authenticator

from .models import audit, erasures, lockouts, sessions, tokens
from .service import AuthService, now


async def call_on_every_plugin(
    ctx: PluginContext, hook: str, subject: Subject
) -> list[HookOutcome]:
    """Ask every active plugin, each with its own context, through the kernel's PluginHooks."""
    try:
        hooks = ctx.resolve(PluginHooks)
    except ServiceError:
        raise RuntimeError(
            "the kernel offers no PluginHooks service to reach other plugins"
        ) from None
    return await hooks.call_each(hook, subject=subject)


def subject_of(user: dict[str, Any]) -> Subject:
    return Subject(user_id=user["id"], username=user["username"], email=user["email"])


async def export_archive(service: AuthService, user: dict[str, Any]) -> bytes:
    subject = subject_of(user)
    outcomes = await call_on_every_plugin(service.ctx, "export_personal_data", subject)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for outcome in outcomes:
            if outcome.error is None and outcome.result is not None:
                text = json.dumps(outcome.result, indent=2, default=str, ensure_ascii=False)
                archive.writestr(f"{outcome.plugin}.json", text)
        summary = {
            "subject": asdict(subject),
            "generated_at": now().isoformat(),
            "plugins": [o.plugin for o in outcomes if o.error is None and o.result is not None],
            "failed": {o.plugin: o.error for o in outcomes if o.error is not None},
        }
        archive.writestr("export.json", json.dumps(summary, indent=2))
    await service.record("export", username=user["username"], user_id=user["id"])
    return buffer.getvalue()


async def erase(service: AuthService, user: dict[str, Any]) -> dict[str, Any]:
    """Erase the user everywhere; returns which plugins erased and which failed. Raises
    Refusal for the last administrator."""
    ctx = service.ctx
    await service.keep_an_admin(user["id"])
    subject = subject_of(user)
    async with ctx.session() as session:
        pending = (
            await session.execute(select(erasures).where(erasures.c.user_id == user["id"]))
        ).first()
        if pending is None:
            await session.execute(
                insert(erasures).values(
                    user_id=user["id"],
                    subject=asdict(subject),
                    done=[],
                    failed={},
                    started_at=now(),
                )
            )
            await session.commit()
    outcomes = await call_on_every_plugin(ctx, "erase_personal_data", subject)
    erased = [o.plugin for o in outcomes if o.error is None]
    failed = {o.plugin: o.error for o in outcomes if o.error is not None}
    if failed:
        await service._run(
            update(erasures)
            .where(erasures.c.user_id == user["id"])
            .values(done=erased, failed=failed)
        )
        await service.record("erasure.incomplete", user_id=user["id"], failed=sorted(failed))
    else:
        await service.remove_user(user["id"])
        await service._run(delete(erasures).where(erasures.c.user_id == user["id"]))
        await service.record("erasure", user_id=user["id"], plugins=erased)
    return {"user_id": user["id"], "complete": not failed, "erased": erased, "failed": failed}


async def own_export(ctx: PluginContext, service: AuthService, subject: Subject) -> dict | None:
    """What auth itself holds: the account (no password hash), tokens, sessions, audit."""
    user = await service.user(subject.user_id)
    if user is None:
        return None
    user.pop("password_hash")
    token_rows = await service.list_tokens(subject.user_id)
    for row in token_rows:
        row.pop("digest")
    async with ctx.session() as session:
        open_sessions = (
            (
                await session.execute(
                    select(sessions.c.expires_at).where(sessions.c.user_id == subject.user_id)
                )
            )
            .scalars()
            .all()
        )
        events = (
            (await session.execute(select(audit).where(audit.c.user_id == subject.user_id)))
            .mappings()
            .all()
        )
    return {
        "user": user,
        "tokens": token_rows,
        "sessions": [{"expires_at": moment} for moment in open_sessions],
        "audit": [dict(event) for event in events],
    }


async def own_erase(ctx: PluginContext, subject: Subject) -> None:
    """Sign the user out everywhere and strip their name from the audit log; the account
    row itself goes last, once every plugin has erased (see `erase`)."""
    async with ctx.session() as session:
        await session.execute(delete(sessions).where(sessions.c.user_id == subject.user_id))
        await session.execute(delete(tokens).where(tokens.c.user_id == subject.user_id))
        if subject.username:
            await session.execute(delete(lockouts).where(lockouts.c.username == subject.username))
            await session.execute(
                update(audit).where(audit.c.username == subject.username).values(username=None)
            )
        await session.execute(
            update(audit).where(audit.c.user_id == subject.user_id).values(client=None)
        )
        await session.commit()
    service: AuthService = ctx.resolve(Authenticator)  # type: ignore[assignment]
    await service.identities_changed()
