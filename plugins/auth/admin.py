"""HTTP for administrators: `/api/auth/users` (with erasure), `/roles`, `/permissions` and
`/audit`. Each route names the permission it needs; admins hold every permission."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import msgspec
from litestar import delete, get, patch, post, put
from litestar.di import NamedDependency
from litestar.exceptions import ClientException, NotFoundException
from litestar.params import FromPath, Parameter

from mindframe.sdk.auth import declared_permissions, requires_permission

from . import gdpr
from .routes import ErasureReport, Name, Secret
from .service import AuthService

MANAGE_USERS = "auth.users.manage"
READ_AUDIT = "auth.audit.read"
Permission = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
RoleName = Annotated[str, msgspec.Meta(min_length=1, max_length=100)]


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


async def _existing(authenticator: AuthService, user_id: str) -> dict[str, Any]:
    user = await authenticator.user(user_id)
    if user is None:
        raise NotFoundException(f"no user {user_id!r}")
    return user


@get("/users", guards=[requires_permission(MANAGE_USERS)], summary="Every user")
async def list_users(authenticator: NamedDependency[AuthService]) -> list[UserView]:
    return [user_view(row) for row in await authenticator.list_users()]


@post("/users", status_code=201, guards=[requires_permission(MANAGE_USERS)], summary="Add a user")
async def create_user(data: NewUser, authenticator: NamedDependency[AuthService]) -> UserView:
    try:
        row = await authenticator.create_user(
            data.username,
            data.password,
            admin=data.admin,
            roles_=data.roles,
            email=data.email,
            locale=data.locale,
        )
    except ValueError as error:
        raise ClientException(str(error)) from None
    return user_view(row)


@patch("/users/{user_id:str}", guards=[requires_permission(MANAGE_USERS)], summary="Change a user")
async def change_user(
    user_id: FromPath[str], data: UserChange, authenticator: NamedDependency[AuthService]
) -> UserView:
    await _existing(authenticator, user_id)
    try:
        row = await authenticator.update_user(
            user_id,
            is_admin=data.admin,
            roles=data.roles,
            password=data.password,
            locale=data.locale,
        )
    except ValueError as error:
        raise ClientException(str(error)) from None
    assert row is not None
    return user_view(row)


@delete(
    "/users/{user_id:str}",
    status_code=200,
    guards=[requires_permission(MANAGE_USERS)],
    summary="Erase a user from every plugin, then remove the account (resumable)",
)
async def erase_user(
    user_id: FromPath[str], authenticator: NamedDependency[AuthService]
) -> ErasureReport:
    return ErasureReport(**await gdpr.erase(authenticator, await _existing(authenticator, user_id)))


@get("/roles", guards=[requires_permission(MANAGE_USERS)], summary="Every role and its permissions")
async def list_roles(authenticator: NamedDependency[AuthService]) -> dict[str, list[str]]:
    return await authenticator.list_roles()


@put(
    "/roles/{name:str}",
    guards=[requires_permission(MANAGE_USERS)],
    summary="Create or replace a role",
)
async def put_role(
    name: FromPath[str], data: Role, authenticator: NamedDependency[AuthService]
) -> Role:
    if len(name) > 100:
        raise ClientException("a role name has at most 100 characters")
    await authenticator.set_role(name, data.permissions)
    return Role(sorted(set(data.permissions)))


@get(
    "/permissions",
    guards=[requires_permission(MANAGE_USERS)],
    summary="Permissions plugins declared",
)
async def list_permissions() -> dict[str, str]:
    return declared_permissions()


@get("/audit", guards=[requires_permission(READ_AUDIT)], summary="The audit log, newest first")
async def read_audit(
    authenticator: NamedDependency[AuthService],
    limit: Annotated[int, Parameter(ge=1, le=1000)] = 100,
    event: Annotated[str | None, Parameter(max_length=40)] = None,
) -> list[AuditEntry]:
    return [AuditEntry(**row) for row in await authenticator.audit_log(limit, event)]
