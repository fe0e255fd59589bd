"""The door: who may send, whether the body is an envelope, whether the project is over its
limit, and then the inbox. Nothing here parses events; the digest does, after the answer.

`accept` is what the HTTP routes call for every SDK request, and what the runtime's own
errors go through too (`capture.py`), so both are limited and stored the same way.
"""

from __future__ import annotations

from dataclasses import dataclass

from mindframe.sdk.i18n import N_

from . import envelope
from .bodies import BodyError, decode_body
from .inbox import Inbox
from .projects import Project, Projects
from .ratelimit import RateLimiter, rate_limit_headers
from .refusal import Refusal
from .settings import ErrorsSettings

NO_PROJECT = N_("there is no project {project_id}")
NO_KEY = N_(
    "no key: send the DSN's public key in X-Sentry-Auth (sentry_key=...) "
    "or as the sentry_key query parameter"
)
UNKNOWN_KEY = N_("the key {key} is unknown or revoked")
OTHER_PROJECT = N_("the key {key} is not a key of project {project_id}")
OVER_LIMIT = N_("project {project_id} is over its limit of {limit} events a minute")
BODY_REFUSED = {
    400: N_("the body cannot be read: {reason}"),
    413: N_("the body is larger than {limit} bytes once decompressed"),
    415: N_("Content-Encoding {coding} is not supported: send gzip, deflate, br or none"),
}


@dataclass(frozen=True, slots=True)
class Accepted:
    event_id: str | None
    events: int


class Intake:
    def __init__(
        self,
        settings: ErrorsSettings,
        projects: Projects,
        inbox: Inbox,
        limiter: RateLimiter,
    ) -> None:
        self._settings = settings
        self._projects = projects
        self._inbox = inbox
        self._limiter = limiter

    async def authenticate(self, project_id: int, public_key: str | None) -> Project:
        """The project, if `public_key` is one of its active keys; else a Refusal."""
        project = await self._projects.project(project_id)
        if project is None:
            raise Refusal(404, NO_PROJECT, project_id=project_id)
        if not public_key:
            raise Refusal(401, NO_KEY)
        owner = await self._projects.key_owner(public_key)
        if owner is None:
            raise Refusal(401, UNKNOWN_KEY, key=public_key)
        if owner != project_id:
            raise Refusal(403, OTHER_PROJECT, key=public_key, project_id=project_id)
        return project

    async def accept(
        self,
        project: Project,
        body: bytes,
        content_encoding: str | None = None,
        *,
        legacy_event: bool = False,
    ) -> Accepted:
        """Check `body` (an envelope, or with `legacy_event` one event as `store` takes it),
        count it against the project's limit and append it to the inbox (durable once this
        returns)."""
        data = decode(body, content_encoding, self._settings.max_decompressed_bytes)
        if legacy_event:
            data, body, content_encoding = envelope.from_event(data), b"", None
        parsed = envelope.parse(data)
        events = sum(1 for item in parsed.items if item.type == "event")
        limit = self._settings.rate_limit if project.rate_limit is None else project.rate_limit
        retry_after = self._limiter.take(project.id, events, limit)
        if retry_after is not None:
            raise Refusal(
                429,
                OVER_LIMIT,
                headers=rate_limit_headers(retry_after),
                project_id=project.id,
                limit=limit,
            )
        if content_encoding and content_encoding.strip().lower() not in ("", "identity"):
            self._inbox.add(project.id, body, content_encoding)
        else:
            self._inbox.add(project.id, data)
        return Accepted(parsed.event_id, events)


def decode(body: bytes, content_encoding: str | None, limit: int) -> bytes:
    try:
        return decode_body(body, content_encoding, limit)
    except BodyError as error:
        raise Refusal(
            error.status,
            BODY_REFUSED[error.status],
            reason=error.message,
            limit=limit,
            coding=content_encoding,
        ) from None
