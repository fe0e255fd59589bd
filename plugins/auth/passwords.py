"""Argon2id password hashing on worker threads, at most `max_concurrent_hashes` at once:
each hash holds `argon2_memory_cost` of memory, so a burst of logins queues here instead of
exhausting memory and the cores the event loop needs."""

from __future__ import annotations

import base64
import os

import anyio
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from mindframe.sdk.i18n import N_

from .refusals import Refusal
from .settings import AuthSettings

MIN_LENGTH = 8


def unmatched_hash(hasher: PasswordHasher) -> str:
    """A well-formed hash with `hasher`'s parameters and a random digest, which no password
    matches: verifying against it costs what verifying against a real one does (the work is
    hashing the candidate with the salt and parameters the string names). Hashing a dummy
    password instead cost every start-up one Argon2 hash (~0.3 s) on the event loop."""

    def encoded(size: int) -> str:
        return base64.b64encode(os.urandom(size)).decode().rstrip("=")

    return (
        f"$argon2id$v=19$m={hasher.memory_cost},t={hasher.time_cost},p={hasher.parallelism}"
        f"${encoded(hasher.salt_len)}${encoded(hasher.hash_len)}"
    )


class Passwords:
    def __init__(self, settings: AuthSettings) -> None:
        self._hasher = PasswordHasher(
            time_cost=settings.argon2_time_cost,
            memory_cost=settings.argon2_memory_cost,
            parallelism=settings.argon2_parallelism,
        )
        self._turns = anyio.CapacityLimiter(settings.max_concurrent_hashes)
        self._dummy = unmatched_hash(self._hasher)

    async def hash(self, password: str) -> str:
        if len(password) < MIN_LENGTH:
            raise Refusal(N_("a password needs at least {count} characters"), count=MIN_LENGTH)
        return await anyio.to_thread.run_sync(self._hasher.hash, password, limiter=self._turns)

    async def verify(self, stored: str | None, password: str) -> bool:
        """Whether `password` matches; with no user (`stored` None) the same work is done,
        so the answer's timing does not tell whether a username exists."""
        try:
            matched = await anyio.to_thread.run_sync(
                self._hasher.verify, stored or self._dummy, password, limiter=self._turns
            )
        except (VerificationError, InvalidHashError):
            return False
        return matched and stored is not None
