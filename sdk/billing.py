"""Dunning: the contract between the billing plugin and whoever decides when to retry.

When a renewal payment fails, the billing plugin asks the `DunningPolicy` service what to
do next: retry at a given moment (and whether to mail the customer now), or give up. The
billing plugin ships `ScheduledDunning`, a fixed schedule, and uses it unless another plugin
(the learning engine) provides a `DunningPolicy` of its own::

    class LearnedDunning(DunningPolicy):
        async def next_step(self, failure: FailedRenewal) -> DunningStep:
            return DunningStep(retry_at=failure.failed_at + timedelta(days=2))

    @hookimpl
    def register_services(ctx):
        ctx.provide(DunningPolicy, LearnedDunning())

A policy sees only what a decision needs (no card data ever reaches the runtime), and it
is asked once per failed attempt, so a policy may learn from each outcome.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True, slots=True)
class FailedRenewal:
    """One failed attempt to collect a renewal: `attempt` counts the failures so far (1 for
    the first); amounts are in minor units of `currency`."""

    subscription_id: str
    invoice_id: str
    attempt: int
    failed_at: datetime
    amount: int
    currency: str
    country: str
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class DunningStep:
    """What to do after a failure: retry at `retry_at` (None: give up, and the subscription
    is cancelled), and whether to mail the customer about it now."""

    retry_at: datetime | None
    notify: bool = True


class DunningPolicy(ABC):
    """Decides when a failed renewal is retried and when billing gives up."""

    @abstractmethod
    async def next_step(self, failure: FailedRenewal) -> DunningStep:
        """The step after `failure`; called once per failed attempt."""


class ScheduledDunning(DunningPolicy):
    """Retry after each of `delays` in turn (by default 3, 5 and 7 days after the failure
    before it), mailing the customer every time; give up after the last."""

    def __init__(self, delays: Sequence[timedelta] | None = None) -> None:
        self.delays = tuple(delays or (timedelta(days=3), timedelta(days=5), timedelta(days=7)))

    async def next_step(self, failure: FailedRenewal) -> DunningStep:
        if failure.attempt > len(self.delays):
            return DunningStep(retry_at=None, notify=True)
        return DunningStep(retry_at=failure.failed_at + self.delays[failure.attempt - 1])


__all__ = ["DunningPolicy", "DunningStep", "FailedRenewal", "ScheduledDunning"]
