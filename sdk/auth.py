"""Who is asking, and may they: the contract the auth plugin fulfils.

A plugin protects a route with a Litestar guard and, when it needs to know who is
signed in, asks for the `identity` dependency::

    from litestar.di import NamedDependency
    from litestar.params import JSONBody

    from mindframe.sdk.auth import IDENTITY, Identity, declare_permissions, requires_permission

    @hookimpl
    def register_services(ctx):
        declare_permissions(ctx, {"mail.send": "Send mail as yourself"})

    @post("/send", guards=[requires_permission("mail.send")], dependencies={"identity": IDENTITY})
    async def send(identity: NamedDependency[Identity], data: JSONBody[Mail]) -> None: ...

Without an active auth plugin every guarded route answers 401: guards fail closed. Guards
find the authenticator (and the i18n plugin, for their messages) in the runtime serving the
request, so two runtimes in one process each enforce their own users.
"""

from __future__ import annotations

import fnmatch
import logging
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from litestar.connection import ASGIConnection
from litestar.di import Provide
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException

from mindframe.kernel.container import dependency_key
from mindframe.kernel.http.asgi import CONTAINER_SCOPE_KEY

from .i18n import N_, request_localizer

if TYPE_CHECKING:
    from litestar.handlers import BaseRouteHandler

    from mindframe.sdk import PluginContext

T = TypeVar("T")
log = logging.getLogger(__name__)
Guard = Callable[[ASGIConnection, "BaseRouteHandler"], Awaitable[None]]
IDENTITY_SCOPE_KEY = "mindframe.identity"
ADMIN_PERMISSION = "*"

SIGN_IN_FIRST = N_("sign in first: this needs a signed-in user")
NEEDS_PERMISSION = N_("this needs the permission '{permission}'")
NO_AUTH_PLUGIN = N_("no auth plugin is active, so nobody can sign in")
"""The refusals of the guards, in the kernel's catalog (`locales/`), so every plugin's
guarded routes answer in the request's locale."""


def not_authorized(connection: ASGIConnection, message: str) -> NotAuthorizedException:
    """A 401 saying `message` (from the kernel's catalog) in the request's locale."""
    return NotAuthorizedException(request_localizer(connection).gettext(message))


@dataclass(frozen=True, slots=True)
class Identity:
    """The signed-in user of a request, and what they may do in it.

    `scopes` is set when the request came with an API token: the token can do only what
    both the user and its scopes allow. Permissions and scopes may be patterns (`mail.*`,
    `*`), and so may what `can` and `reaches` are asked about."""

    user_id: str
    username: str
    permissions: frozenset[str] = frozenset()
    is_admin: bool = False
    locale: str | None = None
    via: Literal["session", "token"] = "session"
    scopes: frozenset[str] | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    def can(self, permission: str) -> bool:
        """Whether this identity holds `permission` (with a pattern: all it names)."""
        return self.reaches(permission) and (self.is_admin or covered(permission, self.permissions))

    def reaches(self, permission: str) -> bool:
        """Whether the request's credential reaches `permission`, whoever holds it: a
        session reaches everything, an API token only its scopes. A credential made with
        this one may carry only what this one reaches, so no token makes a stronger one."""
        return self.scopes is None or covered(permission, self.scopes)


GLOB_CHARACTERS = "*?["


def covered(wanted: str, grants: Iterable[str]) -> bool:
    """Whether `grants` allow everything `wanted` names. A permission (`mail.send`) is
    covered by a grant that matches it (`mail.send`, `mail.*`, `*`). A pattern (`mail.*`) is
    covered only by itself or by a prefix ending in `*` that it starts with (`mail.*`, `*`):
    other pairs of patterns are refused rather than guessed at."""
    if isinstance(grants, frozenset):  # an identity's: the same few pairs on every request
        return _covered_by(wanted, grants)
    return _covered(wanted, grants)


@lru_cache(maxsize=4096)
def _covered_by(wanted: str, grants: frozenset[str]) -> bool:
    return _covered(wanted, grants)


def _covered(wanted: str, grants: Iterable[str]) -> bool:
    if not any(character in wanted for character in GLOB_CHARACTERS):
        return any(fnmatch.fnmatchcase(wanted, grant) for grant in grants)
    return any(wanted == grant or _prefix_covers(grant, wanted) for grant in grants)


def _prefix_covers(grant: str, wanted: str) -> bool:
    prefix = grant[:-1]
    return (
        grant.endswith("*")
        and not any(character in prefix for character in GLOB_CHARACTERS)
        and wanted.startswith(prefix)
    )


class Authenticator(ABC):
    """The service the auth plugin provides (handlers: a parameter named `authenticator`)."""

    @abstractmethod
    async def authenticate(self, connection: ASGIConnection) -> Identity | None:
        """The identity behind the request's session cookie or bearer token, or None.

        Raises NotAuthorizedException for a credential that is wrong, expired or revoked,
        and PermissionDeniedException for a cookie-authenticated unsafe request without
        its CSRF token."""

    @abstractmethod
    async def enforcing(self) -> bool:
        """Whether auth is configured (at least one user exists): until then the kernel
        keeps its management API to loopback."""

    @abstractmethod
    async def permission_denied(
        self, connection: ASGIConnection, identity: Identity, permission: str
    ) -> None:
        """Record a refusal in the audit log."""

    async def audit(self, connection: ASGIConnection, action: str, **detail: Any) -> None:
        """Record `action` (such as `kernel.plugins.disable`) in the audit log, with who asked
        for it, from where, and `detail`: the kernel calls it before a change that weakens
        security (turning sign-in off). Without an audit log of its own, an authenticator
        leaves the record in the server's log."""
        client = connection.client.host if connection.client else "unknown"
        log.warning("audit: %s from %s: %s", action, client, detail)

    async def csrf_token(self, connection: ASGIConnection) -> str | None:
        """The CSRF token of the request's session, for a page to send back with the unsafe
        requests it makes (`X-CSRF-Token`); None without a session, or when this
        authenticator checks none."""
        return None

    async def authorize(self, connection: ASGIConnection, *permissions: str) -> Identity:
        """The request's identity if it holds every one of `permissions`; else 401/403."""
        identity = await current_identity(connection, self)
        if identity is None:
            raise not_authorized(connection, SIGN_IN_FIRST)
        for permission in permissions:
            if not identity.can(permission):
                await self.permission_denied(connection, identity, permission)
                text = request_localizer(connection).gettext(NEEDS_PERMISSION)
                raise PermissionDeniedException(text.format(permission=permission))
        return identity


# --- services of the runtime serving a request ----------------------------------------------


def request_service(connection: ASGIConnection, service_type: type[T]) -> T | None:
    """The `service_type` service of the runtime serving this request, or None: for code
    that gets the connection but no injection (guards)."""
    container = connection.scope.get(CONTAINER_SCOPE_KEY)  # type: ignore[call-overload]
    registration = container.by_key(dependency_key(service_type)) if container else None
    return registration.get() if registration is not None else None


def install_authenticator(ctx: PluginContext, authenticator: Authenticator) -> None:
    """Make `authenticator` the one guards ask in `ctx`'s runtime, until its plugin unloads:
    it becomes the `Authenticator` service (handlers: a parameter named `authenticator`)."""
    ctx.provide(Authenticator, authenticator)


def authenticator_of(connection: ASGIConnection) -> Authenticator | None:
    """The authenticator of the runtime serving this request, if an auth plugin is active."""
    return request_service(connection, Authenticator)


@dataclass(frozen=True, slots=True)
class DeclaredPermissions:
    """The permissions one plugin checks, each with a line saying what it allows: the
    service `declare_permissions` provides, one per plugin."""

    plugin: str
    permissions: Mapping[str, str]


def declare_permissions(ctx: PluginContext, permissions: Mapping[str, str]) -> None:
    """Announce the permissions `ctx`'s plugin checks, each with a line saying what it
    allows, so administrators can grant them; withdrawn when the plugin unloads."""
    declared = DeclaredPermissions(ctx.name, dict(permissions))
    ctx.provide(DeclaredPermissions, declared, name=f"permissions.{ctx.name}")


def declared_permissions(connection: ASGIConnection) -> dict[str, str]:
    """Every permission a plugin of the runtime serving this request declared."""
    container = connection.scope.get(CONTAINER_SCOPE_KEY)  # type: ignore[call-overload]
    if container is None:
        return {}
    found: dict[str, str] = {}
    for registration in container.registrations():
        if registration.service_type is DeclaredPermissions:
            found.update(registration.get().permissions)
    return dict(sorted(found.items()))


# --- what handlers use ---------------------------------------------------------------------


def identity_of(connection: ASGIConnection) -> Identity | None:
    """The identity already established for this request (by a guard), without asking."""
    return connection.scope.get(IDENTITY_SCOPE_KEY)  # type: ignore[return-value]


async def current_identity(
    connection: ASGIConnection, authenticator: Authenticator | None = None
) -> Identity | None:
    """The request's identity, authenticated once per request and then remembered."""
    scope: Any = connection.scope
    if IDENTITY_SCOPE_KEY not in scope:
        authenticator = authenticator or authenticator_of(connection)
        if authenticator is None:
            return None
        scope[IDENTITY_SCOPE_KEY] = await authenticator.authenticate(connection)
    return scope[IDENTITY_SCOPE_KEY]


async def authorized(connection: ASGIConnection, *permissions: str) -> Identity:
    """The signed-in identity holding every one of `permissions`: 401 without a signed-in
    user (or without an auth plugin), 403 (audited) when one is missing. What the guard
    checks, for code that has the connection but no guard (a lean endpoint)."""
    authenticator = authenticator_of(connection)
    if authenticator is None:
        raise not_authorized(connection, NO_AUTH_PLUGIN)
    return await authenticator.authorize(connection, *permissions)


def requires_permission(*permissions: str) -> Guard:
    """A Litestar guard: 401 without a signed-in user, 403 (audited) when any of
    `permissions` is missing. With no permissions named, any signed-in user passes."""

    async def guard(connection: ASGIConnection, _: BaseRouteHandler) -> None:
        await authorized(connection, *permissions)

    guard.__qualname__ = f"requires_permission({', '.join(map(repr, permissions))})"
    return guard


requires_login: Guard = requires_permission()
"""A guard that lets any signed-in user through."""


async def _identity_dependency(request: ASGIConnection) -> Identity:
    identity = await current_identity(request)
    if identity is None:
        raise not_authorized(request, SIGN_IN_FIRST)
    return identity


IDENTITY = Provide(_identity_dependency)
"""`dependencies={"identity": IDENTITY}`: the signed-in user as a handler parameter."""
