"""HTTP for everyone: `/api/auth/login`, `/logout`, `/me` (with its password, GDPR export and
erasure) and `/tokens`. Refusals answer in the request's locale."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import msgspec
from litestar import Request, Response, delete, get, post
from litestar.datastructures import Cookie
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody

from mindframe.sdk.auth import IDENTITY, Identity, requires_permission
from mindframe.sdk.http import TypedJSONRequest
from mindframe.sdk.i18n import N_

from . import gdpr
from .permissions import (
    CHANGE_PASSWORD,
    CREATE_TOKENS,
    ERASE_ME,
    EXPORT_ME,
    READ_TOKENS,
    REVOKE_TOKENS,
    refuse_beyond,
)
from .refusals import Refusal
from .service import SESSION, AuthService, client_of

Name = Annotated[str, msgspec.Meta(min_length=1, max_length=150)]
Secret = Annotated[str, msgspec.Meta(min_length=1, max_length=1024)]


def signed_in(*permissions: str) -> dict[str, Any]:
    """A route for a signed-in user holding `permissions`, who is its `identity` parameter."""
    return {"guards": [requires_permission(*permissions)], "dependencies": {"identity": IDENTITY}}


SIGNED_IN = signed_in()


class Credentials(msgspec.Struct):
    username: Name
    password: Secret


class Me(msgspec.Struct):
    id: str
    username: str
    is_admin: bool
    roles: list[str]
    permissions: list[str]
    locale: str | None
    via: str


class PasswordChange(msgspec.Struct):
    """`revoke_tokens`: revoke all your API tokens too (a leaked password may have made
    some)."""

    current: Secret
    new: Secret
    revoke_tokens: bool = True


class LoggedIn(msgspec.Struct):
    user: Me
    csrf_token: str


class TokenRequest(msgspec.Struct):
    """`scopes` are permission patterns the token is limited to (`["*"]`: all of yours);
    with none, the token only proves who you are. A token making a token can give it only
    scopes within its own."""

    name: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    scopes: Annotated[
        list[Annotated[str, msgspec.Meta(max_length=200)]], msgspec.Meta(max_length=100)
    ] = []
    expires_in_days: Annotated[int, msgspec.Meta(ge=1)] | None = None
    """How long the token lives: at most the `token_ttl_days` setting, which is the default."""


class TokenView(msgspec.Struct):
    id: str
    name: str
    scopes: list[str]
    created_at: datetime
    expires_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class NewToken(msgspec.Struct):
    token: TokenView
    secret: str


class ErasureReport(msgspec.Struct):
    user_id: str
    complete: bool
    erased: list[str]
    failed: dict[str, str]


def me_view(user: dict[str, Any], identity: NamedDependency[Identity]) -> Me:
    return Me(
        id=user["id"],
        username=user["username"],
        is_admin=user["is_admin"],
        roles=user["roles"],
        permissions=sorted(identity.permissions),
        locale=user["locale"],
        via=identity.via,
    )


def token_view(row: dict[str, Any], authenticator: AuthService) -> TokenView:
    return TokenView(
        id=row["id"],
        name=row["name"],
        scopes=row["scopes"],
        created_at=row["created_at"],
        expires_at=authenticator.token_expiry(row),
        last_used_at=row.get("last_used_at"),
        revoked_at=row.get("revoked_at"),
    )


@post(
    "/login",
    status_code=200,
    summary="Sign in; sets the session cookie and returns the CSRF token",
    request_class=TypedJSONRequest,
)
async def login(
    request: Request, data: JSONBody[Credentials], authenticator: NamedDependency[AuthService]
) -> Response[LoggedIn]:
    try:
        user, secret, csrf = await authenticator.login(
            data.username, data.password, client_of(request)
        )
    except Refusal as refusal:
        raise refusal.http(request, authenticator.ctx) from None
    settings = authenticator.settings
    cookie = Cookie(
        key=settings.cookie_name,
        value=secret,
        max_age=settings.session_seconds,
        path="/",
        secure=settings.cookie_secure,
        httponly=True,
        samesite=settings.cookie_samesite,
    )
    identity = await authenticator.identity(user, via="session")
    return Response(LoggedIn(me_view(user, identity), csrf), cookies=[cookie])


@post("/logout", status_code=204, summary="End this session", **SIGNED_IN)
async def logout(
    request: Request,
    authenticator: NamedDependency[AuthService],
    identity: NamedDependency[Identity],
) -> Response[None]:
    await authenticator.logout(request)
    await authenticator.record("logout", username=identity.username, user_id=identity.user_id)
    settings = authenticator.settings
    return Response(
        None,
        status_code=204,
        cookies=[
            Cookie(
                key=settings.cookie_name,
                value="",
                max_age=0,
                path="/",
                secure=settings.cookie_secure,
                httponly=True,
                samesite=settings.cookie_samesite,
            )
        ],
    )


async def existing_user(
    request: Request, authenticator: AuthService, user_id: str
) -> dict[str, Any]:
    user = await authenticator.user(user_id)
    if user is None:
        refusal = Refusal(N_("there is no user '{user_id}'"), 404, user_id=user_id)
        raise refusal.http(request, authenticator.ctx)
    return user


def export_response(archive: bytes, user: dict[str, Any]) -> Response[bytes]:
    disposition = f'attachment; filename="mindframe-export-{user["id"]}.zip"'
    return Response(
        archive, media_type="application/zip", headers={"Content-Disposition": disposition}
    )


@get("/me", summary="The signed-in user", **SIGNED_IN)
async def me(
    request: Request,
    authenticator: NamedDependency[AuthService],
    identity: NamedDependency[Identity],
) -> Me:
    return me_view(await existing_user(request, authenticator, identity.user_id), identity)


@post(
    "/me/password",
    status_code=204,
    summary="Change your password (the current one is asked); your other sessions end and, "
    "unless revoke_tokens is false, your API tokens are revoked",
    request_class=TypedJSONRequest,
    **signed_in(CHANGE_PASSWORD),
)
async def change_password(
    request: Request,
    data: JSONBody[PasswordChange],
    authenticator: NamedDependency[AuthService],
    identity: NamedDependency[Identity],
) -> None:
    try:
        await authenticator.change_password(
            identity.user_id,
            data.current,
            data.new,
            client_of(request),
            keep_session=identity.extra.get(SESSION),
            revoke_tokens=data.revoke_tokens,
        )
    except Refusal as refusal:
        raise refusal.http(request, authenticator.ctx) from None


@get(
    "/me/export",
    summary="Everything every plugin holds about you, as a zip",
    **signed_in(EXPORT_ME),
)
async def export_me(
    request: Request,
    authenticator: NamedDependency[AuthService],
    identity: NamedDependency[Identity],
) -> Response[bytes]:
    user = await existing_user(request, authenticator, identity.user_id)
    return export_response(await gdpr.export_archive(authenticator, user), user)


@delete(
    "/me",
    status_code=200,
    summary="Erase you from every plugin, then your account",
    **signed_in(ERASE_ME),
)
async def erase_me(
    request: Request,
    authenticator: NamedDependency[AuthService],
    identity: NamedDependency[Identity],
) -> ErasureReport:
    user = await existing_user(request, authenticator, identity.user_id)
    try:
        return ErasureReport(**await gdpr.erase(authenticator, user))
    except Refusal as refusal:
        raise refusal.http(request, authenticator.ctx) from None


@get("/tokens", summary="Your API tokens (never their secrets)", **signed_in(READ_TOKENS))
async def list_tokens(
    authenticator: NamedDependency[AuthService], identity: NamedDependency[Identity]
) -> list[TokenView]:
    rows = await authenticator.list_tokens(identity.user_id)
    return [token_view(row, authenticator) for row in rows]


@post(
    "/tokens",
    status_code=201,
    summary="A new API token, reaching no more than the credential making it; its secret is "
    "shown this once",
    request_class=TypedJSONRequest,
    **signed_in(CREATE_TOKENS),
)
async def create_token(
    request: Request,
    data: JSONBody[TokenRequest],
    authenticator: NamedDependency[AuthService],
    identity: NamedDependency[Identity],
) -> NewToken:
    try:
        refuse_beyond(identity.reaches, data.scopes)
        row, secret = await authenticator.create_token(
            identity.user_id, data.name, data.scopes, data.expires_in_days
        )
    except Refusal as refusal:
        raise refusal.http(request, authenticator.ctx) from None
    return NewToken(token_view(row, authenticator), secret)


@delete(
    "/tokens/{token_id:str}",
    status_code=204,
    summary="Revoke one of your tokens",
    **signed_in(REVOKE_TOKENS),
)
async def revoke_token(
    request: Request,
    token_id: FromPath[str],
    authenticator: NamedDependency[AuthService],
    identity: NamedDependency[Identity],
) -> None:
    if not await authenticator.revoke_token(identity.user_id, token_id):
        refusal = Refusal(N_("you have no token '{token_id}'"), 404, token_id=token_id)
        raise refusal.http(request, authenticator.ctx)
