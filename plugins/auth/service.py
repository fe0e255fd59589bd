"""`AuthService`: the `Authenticator` service. Users, logins with lockout, sessions, API
tokens, roles and the audit log; everything HTTP-free, so the CLI and tests use it too."""

from __future__ import annotations

import hashlib
import logging
import secrets
import time
import uuid
from collections import defaultdict, deque
from datetime import UTC, datetime, timedelta
from typing import Any

from litestar.connection import ASGIConnection
from sqlalchemy import case, delete, func, insert, or_, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from mindframe.sdk import PluginContext
from mindframe.sdk.auth import ADMIN_PERMISSION, Authenticator, Identity, current_identity
from mindframe.sdk.i18n import N_

from . import usernames
from .identities import PROCESS, IdentitiesChanged, IdentityCache
from .models import audit, lockouts, roles, sessions, tokens, users
from .passwords import Passwords
from .permissions import OWN_ACCOUNT
from .refusals import Refusal
from .settings import AuthSettings

log = logging.getLogger(__name__)
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
SESSION = "session"  # Identity.extra: the digest of the session a request came with
CSRF_HEADER = "x-csrf-token"
TOKEN_PREFIX = "mf_"
SESSION_KEY = "session:"  # sessions and tokens share the identity cache: keep their keys apart


TOKEN_USE_PRECISION = timedelta(minutes=1)
"""How stale a token's `last_used_at` may be: within a minute of its last use."""


def now() -> datetime:
    return datetime.now(UTC)


def aware(moment: datetime | None) -> datetime | None:
    """SQLite hands datetimes back without their zone; they were written in UTC."""
    return moment.replace(tzinfo=UTC) if moment and moment.tzinfo is None else moment


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def authorization_of(connection: ASGIConnection) -> str:
    """The Authorization header, read straight from the ASGI scope: Litestar's header map
    costs more than the rest of a remembered token's check."""
    for name, value in connection.scope["headers"]:
        if name == b"authorization":
            return value.decode("latin-1")
    return ""


def client_of(connection: ASGIConnection) -> str:
    return connection.client.host if connection.client else "unknown"


class AuthService(Authenticator):
    def __init__(self, ctx: PluginContext) -> None:
        self.ctx = ctx
        self.settings: AuthSettings = ctx.settings
        self.passwords = Passwords(self.settings)
        self._attempts: dict[str, deque[float]] = defaultdict(deque)
        self._has_users = False
        self.identities = IdentityCache(
            self.settings.identity_recheck_seconds, ctx.change_mark("identities")
        )

    async def identities_changed(self) -> None:
        """A user, role, token or session changed: forget every remembered identity, here
        at once and in every other process on the bus."""
        self.identities.changed()
        await self.ctx.publish(IdentitiesChanged(origin=PROCESS))

    async def on_identities_changed(self, event: IdentitiesChanged) -> None:
        if event.origin != PROCESS:
            self.identities.forget_all()

    # --- users -------------------------------------------------------------------------

    async def create_user(
        self,
        username: str,
        password: str,
        *,
        admin: bool = False,
        roles_: list[str] | None = None,
        email: str | None = None,
        locale: str | None = None,
    ) -> dict[str, Any]:
        username = usernames.checked(username)
        if await self.user_by_name(username) is not None:
            raise Refusal(N_("a user named '{username}' already exists"), 409, username=username)
        row = {
            "id": str(uuid.uuid4()),
            "username": username,
            "password_hash": await self.passwords.hash(password),
            "is_admin": admin,
            "roles": sorted(set(roles_ or [])),
            "email": email,
            "locale": locale,
            "created_at": now(),
        }
        async with self.ctx.session() as session:
            await session.execute(insert(users).values(**row))
            await session.commit()
        self._has_users = True
        return row

    async def user_by_name(self, username: str) -> dict[str, Any] | None:
        """The user whose name is `username` in any form that normalises to theirs."""
        name = usernames.canonical(username)
        return await self._one(select(users).where(users.c.username == name))

    async def normalise_stored_usernames(self) -> None:
        """Give users made before names were normalised their canonical name, so they sign
        in by it; a name whose canonical form another user already has stays as it was."""
        rows = await self._all(select(users.c.id, users.c.username))
        taken = {row["username"] for row in rows}
        for row in rows:
            name = usernames.canonical(row["username"])
            if name == row["username"]:
                continue
            if name in taken:
                log.warning(
                    "auth: user %r keeps its name: its normal form %r is another user's",
                    row["username"],
                    name,
                )
                continue
            await self._run(update(users).where(users.c.id == row["id"]).values(username=name))
            await self.identities_changed()
            taken.add(name)

    async def user(self, user_id: str) -> dict[str, Any] | None:
        return await self._one(select(users).where(users.c.id == user_id))

    async def list_users(self) -> list[dict[str, Any]]:
        return await self._all(select(users).order_by(users.c.username))

    async def update_user(self, user_id: str, **changes: Any) -> dict[str, Any] | None:
        changes = {k: v for k, v in changes.items() if v is not None}
        if changes.get("is_admin") is False:
            await self.keep_an_admin(user_id)
        if "password" in changes:
            changes["password_hash"] = await self.passwords.hash(changes.pop("password"))
        if changes:
            await self._run(update(users).where(users.c.id == user_id).values(**changes))
            await self.identities_changed()
        return await self.user(user_id)

    async def change_password(
        self,
        user_id: str,
        current: str,
        new: str,
        client: str,
        keep_session: str | None,
        revoke_tokens: bool = True,
    ) -> None:
        """Set a new password if `current` is right (attempts are rate-limited and locked out
        like logins), end every session of the user but `keep_session` (a session digest)
        and, with `revoke_tokens`, revoke all their API tokens."""
        self._throttle(client)
        user = await self.user(user_id)
        if user is None:
            raise Refusal(N_("your account no longer exists"), 401)
        if not await self._password_matches(user["username"], user, current, client, "password"):
            raise Refusal(N_("the current password is wrong"), 400)
        await self.update_user(user_id, password=new)
        await self._run(
            delete(sessions).where(sessions.c.user_id == user_id, sessions.c.digest != keep_session)
            if keep_session
            else delete(sessions).where(sessions.c.user_id == user_id)
        )
        await self.identities_changed()
        revoked = await self.revoke_tokens(user_id) if revoke_tokens else 0
        await self.record(
            "password.changed", username=user["username"], user_id=user_id, tokens_revoked=revoked
        )

    async def keep_an_admin(self, user_id: str) -> None:
        """Refuse (409) to erase or demote the last administrator, so someone is always left
        who can manage users and the runtime."""
        user = await self.user(user_id)
        if user is None or not user["is_admin"]:
            return
        admins = select(func.count().label("n")).select_from(users).where(users.c.is_admin)
        count = await self._one(admins)
        if count is not None and count["n"] <= 1:
            raise Refusal(
                N_("'{username}' is the only administrator; make another one first"),
                409,
                username=user["username"],
            )

    async def remove_user(self, user_id: str) -> None:
        await self._run(delete(users).where(users.c.id == user_id))
        await self.identities_changed()

    async def enforcing(self) -> bool:
        if not self._has_users:
            count = await self._one(select(func.count().label("n")).select_from(users))
            self._has_users = bool(count and count["n"])
        return self._has_users

    # --- roles ---------------------------------------------------------------------------

    async def set_role(self, name: str, permissions: list[str]) -> None:
        async with self.ctx.session() as session:
            await session.execute(delete(roles).where(roles.c.name == name))
            await session.execute(insert(roles).values(name=name, permissions=sorted(permissions)))
            await session.commit()
        await self.identities_changed()

    async def list_roles(self) -> dict[str, list[str]]:
        return {r["name"]: r["permissions"] for r in await self._all(select(roles))}

    async def powers(self, is_admin: bool, role_names: list[str]) -> set[str]:
        """What an administrator (`*`) or a holder of `role_names` may do, beyond their own
        account: what whoever makes, changes or erases such a user must hold too."""
        if is_admin:
            return {ADMIN_PERMISSION}
        granted: set[str] = set()
        if role_names:
            for role in await self._all(select(roles).where(roles.c.name.in_(role_names))):
                granted.update(role["permissions"])
        return granted

    async def identity(self, user: dict[str, Any], **how: Any) -> Identity:
        granted = await self.powers(user["is_admin"], user["roles"])
        return Identity(
            user_id=user["id"],
            username=user["username"],
            permissions=frozenset(granted | OWN_ACCOUNT.keys()),
            is_admin=user["is_admin"],
            locale=user["locale"],
            **how,
        )

    # --- login and sessions --------------------------------------------------------------

    async def login(self, username: str, password: str, client: str) -> tuple[dict, str, str]:
        """Check the password; returns (user, session secret, CSRF token) or raises
        Refusal. Failures are counted per username and locked out past the limit."""
        self._throttle(client)
        user = await self.user_by_name(username)  # None too for a name longer than any user's
        username = usernames.canonical(username)[: usernames.MAX_LENGTH]  # fits the columns
        if not await self._password_matches(username, user, password, client, "login"):
            raise Refusal(N_("wrong username or password"), 401)
        assert user is not None
        secret, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(24)
        expires = now() + timedelta(seconds=self.settings.session_seconds)
        await self._run(
            insert(sessions).values(
                digest=digest(secret), user_id=user["id"], csrf_token=csrf, expires_at=expires
            )
        )
        await self.record("login", username=username, user_id=user["id"], client=client)
        return user, secret, csrf

    def _throttle(self, client: str) -> None:
        window, stamp = self._attempts[client], time.monotonic()
        while window and window[0] < stamp - 60:
            window.popleft()
        if len(window) >= self.settings.login_attempts_per_minute:
            raise Refusal(
                N_("too many login attempts from your address; try again {when}"),
                429,
                retry_after=60,
            )
        window.append(stamp)

    async def _password_matches(
        self, username: str, user: dict | None, password: str, client: str, attempt: str
    ) -> bool:
        """Whether `password` is `user`'s (None: no such user, and as much work done). A
        wrong one counts toward `username`'s lockout, audited as `<attempt>.failed`; while
        locked out a Refusal (429) says when to try again, audited as `<attempt>.locked`."""
        moment = now()
        lock = await self._one(select(lockouts).where(lockouts.c.username == username))
        locked_until = aware(lock["locked_until"]) if lock else None
        if locked_until and locked_until > moment:
            await self.record(f"{attempt}.locked", username=username, client=client)
            wait = int((locked_until - moment).total_seconds()) + 1
            raise Refusal(N_("too many failed logins; try again {when}"), 429, retry_after=wait)
        if await self.passwords.verify(user["password_hash"] if user else None, password):
            await self._run(delete(lockouts).where(lockouts.c.username == username))
            return True
        failures = await self._count_failure(username, moment)
        await self.record(f"{attempt}.failed", username=username, client=client)
        if failures >= self.settings.max_failed_logins:
            await self.record("lockout", username=username, client=client, failures=failures)
        return False

    async def _count_failure(self, username: str, moment: datetime) -> int:
        """Add one failure to `username`'s count in one statement (concurrent wrong
        passwords each count), starting afresh past `failure_window`; locks the name out at
        `max_failed_logins`. Returns the count."""
        stale = lockouts.c.first_failure_at < moment - timedelta(
            seconds=self.settings.failure_window
        )
        count = (
            update(lockouts)
            .where(lockouts.c.username == username)
            .values(
                failures=case((stale, 1), else_=lockouts.c.failures + 1),
                first_failure_at=case((stale, moment), else_=lockouts.c.first_failure_at),
            )
            .returning(lockouts.c.failures)
        )
        first = insert(lockouts).values(username=username, failures=1, first_failure_at=moment)
        async with self.ctx.session() as session:
            for last_try in (False, True):
                failures = (await session.execute(count)).scalar()
                if failures is not None:
                    break
                try:
                    await session.execute(first)
                    failures = 1
                    break
                except IntegrityError:  # another failure inserted the row first: count again
                    await session.rollback()
                    if last_try:
                        raise
            if failures >= self.settings.max_failed_logins:
                locked_until = moment + timedelta(seconds=self.settings.lockout_seconds)
                await session.execute(
                    update(lockouts)
                    .where(lockouts.c.username == username)
                    .values(locked_until=locked_until)
                )
            await session.commit()
        return failures

    async def logout(self, connection: ASGIConnection) -> None:
        secret = connection.cookies.get(self.settings.cookie_name)
        if secret:
            await self._run(delete(sessions).where(sessions.c.digest == digest(secret)))
            await self.identities_changed()

    async def csrf_token(self, connection: ASGIConnection) -> str | None:
        secret = connection.cookies.get(self.settings.cookie_name)
        row = await self._one(select(sessions).where(sessions.c.digest == digest(secret or "")))
        return row["csrf_token"] if row else None

    # --- Authenticator -------------------------------------------------------------------

    async def authenticate(self, connection: ASGIConnection) -> Identity | None:
        header = authorization_of(connection)
        if header[:7].lower() == "bearer ":
            return await self._by_token(connection, header[7:].strip())
        secret = connection.cookies.get(self.settings.cookie_name)
        if not secret:
            return None
        key = digest(secret)
        known = self.identities.get(SESSION_KEY + key)
        if known is not None:
            identity, csrf = known.identity, known.csrf_token
        else:
            identity, csrf = await self._by_session(connection, key)
        if connection.scope.get("method") not in SAFE_METHODS and not secrets.compare_digest(
            connection.headers.get(CSRF_HEADER, ""), csrf or ""
        ):
            raise Refusal(
                N_("a signed-in browser must send the {header} header it got at login"),
                403,
                header=CSRF_HEADER,
            ).http(connection, self.ctx)
        return identity

    async def _by_session(
        self, connection: ASGIConnection, key: str
    ) -> tuple[Identity, str | None]:
        """The session's identity and CSRF token, read from the database and remembered."""
        generation = self.identities.generation
        row = await self._one(select(sessions).where(sessions.c.digest == key))
        expires = aware(row["expires_at"]) if row is not None else None
        if row is None or expires is None or expires <= now():
            raise Refusal(N_("your session has ended; sign in again"), 401).http(
                connection, self.ctx
            )
        user = await self.user(row["user_id"])
        if user is None:
            raise Refusal(N_("your account no longer exists"), 401).http(connection, self.ctx)
        identity = await self.identity(user, via="session", extra={SESSION: key})
        self.identities.put(SESSION_KEY + key, identity, expires, generation, row["csrf_token"])
        return identity, row["csrf_token"]

    async def _by_token(self, connection: ASGIConnection, secret: str) -> Identity:
        key = digest(secret)
        known = self.identities.get(key)
        if known is not None:
            return known.identity
        generation = self.identities.generation
        found = await self.ctx.transaction(self._check_token, key, core=True, read_only=True)
        if isinstance(found, str):
            raise Refusal(found, 401).http(connection, self.ctx)
        row, user = found
        moment, last_used = now(), aware(row["last_used_at"])
        if last_used is None or moment - last_used >= TOKEN_USE_PRECISION:
            await self._record_use(row["id"], moment)
        identity = await self.identity(user, via="token", scopes=frozenset(row["scopes"]))
        self.identities.put(key, identity, self.token_expiry(row), generation)
        return identity

    def _check_token(
        self, connection: Connection, token_digest: str
    ) -> tuple[dict[str, Any], dict[str, Any]] | str:
        """The token and its user if the token is in force, else why not: reads only, so it
        does not queue for SQLite's write lock behind another plugin's long transaction."""
        found = connection.execute(select(tokens).where(tokens.c.digest == token_digest)).first()
        row = dict(found._mapping) if found is not None else None
        if row is None or row["revoked_at"] is not None:
            return N_("this API token is unknown or revoked")
        if self.token_expiry(row) <= now():
            return N_("this API token has expired; make a new one")
        owner = connection.execute(select(users).where(users.c.id == row["user_id"])).first()
        if owner is None:
            return N_("this API token's user no longer exists")
        return row, dict(owner._mapping)

    async def _record_use(self, token_id: Any, moment: datetime) -> None:
        """The token's last use, to the minute (a busy token does not make every request a
        write). Not worth refusing a valid token for: a failure is reported, not raised."""
        try:
            await self.ctx.transaction(_mark_used, token_id, moment, core=True)
        except Exception as error:
            self.ctx.report_error(error, task="recording a token's use")

    async def permission_denied(
        self, connection: ASGIConnection, identity: Identity, permission: str
    ) -> None:
        await self.record(
            "permission.denied",
            username=identity.username,
            user_id=identity.user_id,
            client=client_of(connection),
            permission=permission,
            path=connection.scope["path"],
        )

    async def audit(self, connection: ASGIConnection, action: str, **detail: Any) -> None:
        identity = await current_identity(connection, self)
        await self.record(
            action,
            username=identity.username if identity else None,
            user_id=identity.user_id if identity else None,
            client=client_of(connection),
            **detail,
        )

    # --- API tokens ------------------------------------------------------------------------

    async def create_token(
        self, user_id: str, name: str, scopes: list[str], days: int | None = None
    ) -> tuple[dict, str]:
        """A new token living `days` (at most `token_ttl_days`, the default); the secret is
        returned this once and only its digest is kept."""
        longest = self.settings.token_ttl_days
        if days is not None and days > longest:
            raise Refusal(
                N_("a token lives at most {count} days (the token_ttl_days setting)"),
                count=longest,
            )
        secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
        created = now()
        row = {
            "id": str(uuid.uuid4()),
            "user_id": user_id,
            "name": name,
            "digest": digest(secret),
            "scopes": sorted(set(scopes)),
            "created_at": created,
            "expires_at": created + timedelta(days=days or longest),
        }
        await self._run(insert(tokens).values(**row))
        return row, secret

    async def list_tokens(self, user_id: str) -> list[dict[str, Any]]:
        return await self._all(
            select(tokens).where(tokens.c.user_id == user_id).order_by(tokens.c.created_at)
        )

    def token_expiry(self, row: dict[str, Any]) -> datetime:
        """When a token stops working: the expiry it was made with, or sooner when
        `token_ttl_days` has been lowered since (tokens made before expiry existed too)."""
        created: datetime = aware(row["created_at"])  # type: ignore[assignment]
        longest = created + timedelta(days=self.settings.token_ttl_days)
        asked = aware(row.get("expires_at"))
        return min(asked, longest) if asked else longest

    async def revoke_tokens(self, user_id: str) -> int:
        """Revoke every API token of the user still in force; returns how many."""
        async with self.ctx.session() as session:
            result = await session.execute(
                update(tokens)
                .where(tokens.c.user_id == user_id, tokens.c.revoked_at.is_(None))
                .values(revoked_at=now())
            )
            await session.commit()
        await self.identities_changed()
        return result.rowcount  # type: ignore[attr-defined]

    async def revoke_token(self, user_id: str, token_id: str) -> bool:
        async with self.ctx.session() as session:
            result = await session.execute(
                update(tokens)
                .where(tokens.c.id == token_id, tokens.c.user_id == user_id)
                .values(revoked_at=now())
            )
            await session.commit()
        await self.identities_changed()
        return bool(result.rowcount)  # type: ignore[attr-defined]

    # --- audit log -------------------------------------------------------------------------

    async def record(
        self,
        event: str,
        *,
        username: str | None = None,
        user_id: str | None = None,
        client: str | None = None,
        **detail: Any,
    ) -> None:
        await self._run(
            insert(audit).values(
                at=now(),
                event=event,
                username=username,
                user_id=user_id,
                client=client,
                detail=detail,
            )
        )

    async def audit_log(self, limit: int = 100, event: str | None = None) -> list[dict]:
        query = select(audit).order_by(audit.c.id.desc()).limit(limit)
        if event:
            query = query.where(audit.c.event == event)
        return await self._all(query)

    # --- plumbing ------------------------------------------------------------------------

    async def _run(self, statement: Any) -> None:
        async with self.ctx.session() as session:
            await session.execute(statement)
            await session.commit()

    async def _one(self, query: Any) -> dict[str, Any] | None:
        async with self.ctx.session() as session:
            row = (await session.execute(query)).mappings().first()
            return dict(row) if row else None

    async def _all(self, query: Any) -> list[dict[str, Any]]:
        async with self.ctx.session() as session:
            return [dict(row) for row in (await session.execute(query)).mappings()]


def _mark_used(connection: Connection, token_id: Any, moment: datetime) -> None:
    stale = or_(
        tokens.c.last_used_at.is_(None), tokens.c.last_used_at <= moment - TOKEN_USE_PRECISION
    )
    connection.execute(
        update(tokens).where(tokens.c.id == token_id, stale).values(last_used_at=moment)
    )
