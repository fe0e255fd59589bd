"""HTTP for administrators: `/api/auth/users` (with erasure), `/roles`, `/permissions` and
`/audit`. Each route names the permission it needs; admins hold every permission. Whoever
makes, changes or erases a user or a role must hold all it grants, before and after."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import msgspec
from litestar import Request, Response, delete, get, patch, post, put
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody, Parameter

from mindframe.sdk.auth import Identity, declared_permissions, requires_permission
from mindframe.sdk.http import TypedJSONRequest
from mindframe.sdk.i18n import N_

from . import gdpr
from .permissions import MANAGE_USERS, READ_AUDIT, refuse_beyond
from .refusals import Refusal
from .routes import ErasureReport, Name, Secret, existing_user, export_response, signed_in
from .service import AuthService

MANAGER = signed_in(MANAGE_USERS)
Permission = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
MAX_ROLE_NAME = 100
RoleName = Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_ROLE_NAME)]


class UserView(msgspec.Struct):
    id: str
    username: str
    is_admin: bool
    roles: list[str]
    locale: str | None
    email: str | None
    created_at: datetime


class NewUser(msgspec.Struct):
    username: Name
    password: Secret
    admin: bool = False
    roles: Annotated[list[RoleName], msgspec.Meta(max_length=50)] = []
    email: Annotated[str, msgspec.Meta(max_length=300)] | None = None
    locale: Annotated[str, msgspec.Meta(max_length=10)] | None = None


class UserChange(msgspec.Struct):
    admin: bool | None = None
    roles: Annotated[list[RoleName], msgspec.Meta(max_length=50)] | None = None
    password: Secret | None = None
    locale: Annotated[str, msgspec.Meta(max_length=10)] | None = None


class Role(msgspec.Struct):
    permissions: Annotated[list[Permission], msgspec.Meta(max_length=200)]


class AuditEntry(msgspec.Struct):
    id: int
    at: datetime
    event: str
    username: str | None
    user_id: str | None
    client: str | None
    detail: dict[str, Any]


def user_view(row: dict[str, Any]) -> UserView:
    return UserView(
        row["id"],
        row["username"],
        row["is_admin"],
        row["roles"],
        row["locale"],
        row["email"],
        row["created_at"],
    )


@get("/users", guards=[requires_permission(MANAGE_USERS)], summary="Every user")
async def list_users(authenticator: NamedDependency[AuthService]) -> list[UserView]:
    return [user_view(row) for row in await authenticator.list_users()]


@post(
    "/users",
    status_code=201,
    summary="Add a user",
    request_class=TypedJSONRequest,
    **MANAGER,
)
async def create_user(
    request: Request,
    data: JSONBody[NewUser],
    authenticator: NamedDependency[AuthService],
    identity: NamedDependency[Identity],
) -> UserView:
    try:
        refuse_beyond(identity.can, await authenticator.powers(data.admin, data.roles))
        row = await authenticator.create_user(
            data.username,
            data.password,
            admin=data.admin,
            roles_=data.roles,
            email=data.email,
            locale=data.locale,
        )
    except Refusal as refusal:
        raise refusal.http(request, authenticator.ctx) from None
    return user_view(row)


@patch(
    "/users/{user_id:str}",
    summary="Change a user",
    request_class=TypedJSONRequest,
    **MANAGER,
)
async def change_user(
    request: Request,
    user_id: FromPath[str],
    data: JSONBody[UserChange],
    authenticator: NamedDependency[AuthService],
    identity: NamedDependency[Identity],
) -> UserView:
    user = await existing_user(request, authenticator, user_id)
    admin = user["is_admin"] if data.admin is None else data.admin
    after = await authenticator.powers(admin, user["roles"] if data.roles is None else data.roles)
    try:
        refuse_beyond(identity.can, await authenticator.powers(user["is_admin"], user["roles"]))
        refuse_beyond(identity.can, after)
        row = await authenticator.update_user(
            user_id,
            is_admin=data.admin,
            roles=data.roles,
            password=data.password,
            locale=data.locale,
        )
    except Refusal as refusal:
        raise refusal.http(request, authenticator.ctx) from None
    assert row is not None
    return user_view(row)


@delete(
    "/users/{user_id:str}",
    status_code=200,
    summary="Erase a user from every plugin, then remove the account (resumable)",
    **MANAGER,
)
async def erase_user(
    request: Request,
    user_id: FromPath[str],
    authenticator: NamedDependency[AuthService],
    identity: NamedDependency[Identity],
) -> ErasureReport:
    user = await existing_user(request, authenticator, user_id)
    try:
        refuse_beyond(identity.can, await authenticator.powers(user["is_admin"], user["roles"]))
        return ErasureReport(**await gdpr.erase(authenticator, user))
    except Refusal as refusal:
        raise refusal.http(request, authenticator.ctx) from None


@get(
    "/users/{user_id:str}/export",
    guards=[requires_permission(MANAGE_USERS)],
    summary="Everything every plugin holds about a user, as a zip",
)
async def export_user(
    request: Request, user_id: FromPath[str], authenticator: NamedDependency[AuthService]
) -> Response[bytes]:
    user = await existing_user(request, authenticator, user_id)
    return export_response(await gdpr.export_archive(authenticator, user), user)


@get("/roles", guards=[requires_permission(MANAGE_USERS)], summary="Every role and its permissions")
async def list_roles(authenticator: NamedDependency[AuthService]) -> dict[str, list[str]]:
    return await authenticator.list_roles()


@put(
    "/roles/{name:str}",
    summary="Create or replace a role",
    request_class=TypedJSONRequest,
    **MANAGER,
)
async def put_role(
    request: Request,
    name: FromPath[str],
    data: JSONBody[Role],
    authenticator: NamedDependency[AuthService],
    identity: NamedDependency[Identity],
) -> Role:
    try:
        if len(name) > MAX_ROLE_NAME:
            raise Refusal(N_("a role name has at most {count} characters"), count=MAX_ROLE_NAME)
        before = (await authenticator.list_roles()).get(name, [])
        refuse_beyond(identity.can, [*before, *data.permissions])
    except Refusal as refusal:
        raise refusal.http(request, authenticator.ctx) from None
    await authenticator.set_role(name, data.permissions)
    return Role(sorted(set(data.permissions)))


@get(
    "/permissions",
    guards=[requires_permission(MANAGE_USERS)],
    summary="Permissions plugins declared",
)
async def list_permissions(request: Request) -> dict[str, str]:
    return declared_permissions(request)


@get("/audit", guards=[requires_permission(READ_AUDIT)], summary="The audit log, newest first")
async def read_audit(
    authenticator: NamedDependency[AuthService],
    limit: FromQuery[Annotated[int, Parameter(ge=1, le=1000)]] = 100,
    event: FromQuery[Annotated[str | None, Parameter(max_length=40)]] = None,
) -> list[AuditEntry]:
    return [AuditEntry(**row) for row in await authenticator.audit_log(limit, event)]
