"""Who is asking and what they may do: users with Argon2 passwords, sessions and API tokens,
roles and permissions, an audit log, and GDPR export and erasure across every plugin."""

from __future__ import annotations

from typing import Any

import click

from mindframe.sdk import PluginContext, Subject, hookimpl
from mindframe.sdk.auth import Authenticator, declare_permissions, install_authenticator

from . import admin, gdpr, models, permissions, routes
from .identities import PROCESS, IdentitiesChanged
from .service import AuthService
from .settings import AuthSettings


@hookimpl
def settings_model() -> type[AuthSettings]:
    return AuthSettings


@hookimpl
def register_services(ctx: PluginContext) -> None:
    install_authenticator(ctx, AuthService(ctx))
    declare_permissions(ctx, permissions.DECLARED)


@hookimpl
def register_tables(ctx: PluginContext) -> Any:
    return models.metadata


@hookimpl
def register_routes(ctx: PluginContext) -> list[Any]:
    return [
        routes.login, routes.logout, routes.me, routes.change_password, routes.export_me,
        routes.erase_me, routes.list_tokens, routes.create_token, routes.revoke_token,
        admin.list_users, admin.create_user, admin.change_user, admin.export_user,
        admin.erase_user,
        admin.list_roles, admin.put_role, admin.list_permissions, admin.read_audit,
    ]  # fmt: skip


@hookimpl
async def startup(ctx: PluginContext) -> None:
    service: AuthService = ctx.resolve(Authenticator)  # type: ignore[assignment]
    ctx.subscribe(  # a name per process: every process must hear it, not one of them
        IdentitiesChanged.topic,
        service.on_identities_changed,
        name=f"{IdentitiesChanged.topic}:{PROCESS}",
        max_retries=0,
    )
    await service.normalise_stored_usernames()


@hookimpl
def register_cli(group: click.Group) -> None:
    from .cli import tokens, users

    group.add_command(users)
    group.add_command(tokens)


@hookimpl
async def export_personal_data(ctx: PluginContext, subject: Subject) -> Any:
    return await gdpr.own_export(ctx, ctx.resolve(Authenticator), subject)  # type: ignore[arg-type]


@hookimpl
async def erase_personal_data(ctx: PluginContext, subject: Subject) -> None:
    await gdpr.own_erase(ctx, subject)
