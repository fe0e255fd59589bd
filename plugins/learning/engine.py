"""`Engine`: the `LearningEngine` service: live policies in memory, everything in the log.

Each policy's live version is a learner in memory that decides and learns at once; the
decision and reward log (`log_writer.py`) and periodic checkpoints of the learner's state
make it durable. At start, a policy is its last checkpoint plus the log after it, replayed
in order; across a hot reload the old version hands its learners over as plain data.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import msgspec

from mindframe.sdk import PluginContext
from mindframe.sdk.learning import (
    Context,
    Decision,
    DecisionMade,
    ExpiredDecision,
    LearningEngine,
    LearningError,
    PolicyExists,
    PolicyInfo,
    RewardConflict,
    RewardCounted,
    RewardReceipt,
    UnknownDecision,
    UnknownPolicy,
)

from . import messages as m
from . import store
from .ids import new_decision_id
from .log_writer import LogWriter
from .settings import LearningSettings

if TYPE_CHECKING:  # the learners and curves need numpy: imported at first use, not at load
    from .learner import Learner

encode = msgspec.json.encode
NAME_LIMIT = 200
CLOSE_TIMEOUT = 10.0


@dataclass
class LivePolicy:
    """A policy's live version in memory, and its running counts."""

    name: str
    kind: str
    actions: list[str]
    options: dict[str, Any]
    version: int
    learner: Learner
    reward_window: float
    through: int = 0
    """The last log entry (seq) the learner has taken in."""
    checkpointed: int = 0
    decisions: int = 0
    rewards: int = 0
    reward_sum: float = 0.0
    index: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.index = {action: i for i, action in enumerate(self.actions)}


@dataclass(slots=True)
class OpenDecision:
    """A decision awaiting its reward."""

    policy: str
    version: int
    action: int
    context: Context | None
    agent: str | None
    made_at: float


class Engine(LearningEngine):
    def __init__(self, ctx: PluginContext, settings: LearningSettings) -> None:
        self.ctx = ctx
        self.settings = settings
        self.log = LogWriter(
            ctx, settings.flush_interval, settings.flush_rows, on_commit=self._forget_settled
        )
        self._open_limit = settings.max_open_decisions
        self._checkpoint_every = settings.checkpoint_every
        self._announce_decisions = settings.announce_decisions
        self._announce_rewards = settings.announce_rewards
        self.live: dict[str, LivePolicy] = {}
        self._open: dict[str, OpenDecision] = {}
        self._settled: dict[str, float] = {}
        """Rewards counted and not yet committed: a repeat is recognised here until then."""
        self._seq = 0
        self._lock = asyncio.Lock()  # creating, promoting, rolling back: one at a time

    # --- start, stop, hand over -----------------------------------------------------------

    async def load(self) -> None:
        """Every policy from its checkpoint and the log after it."""
        rows = await self.ctx.transaction(store.all_policies, read_only=True)
        self._seq = await self.ctx.transaction(store.last_seq, read_only=True)
        tallies = await self.ctx.transaction(store.counts, read_only=True)
        for policy, version in rows:
            live = self._live_from(policy, version)
            for entry, row in await self.ctx.transaction(
                store.log_after, live.name, live.through, read_only=True
            ):
                self._replay(live, entry, row)
            live.checkpointed = version.through
            live.decisions, live.rewards, live.reward_sum = tallies.get(live.name, (0, 0, 0.0))
            self.live[live.name] = live

    def _live_from(self, policy: store.PolicyRow, version: store.VersionRow) -> LivePolicy:
        learner = make_learner(version.kind, len(policy.actions), version.options)
        if version.state is not None:
            learner.load(version.state)
        return LivePolicy(
            name=policy.name,
            kind=version.kind,
            actions=policy.actions,
            options=version.options,
            version=version.version,
            learner=learner,
            reward_window=policy.reward_window,
            through=version.through,
        )

    def _replay(self, live: LivePolicy, entry: str, row: Any) -> None:
        context = msgspec.json.decode(row.context) if row.context is not None else None
        if entry == "decision":
            live.learner.observe(row.id, context, row.action)
            self._remember(
                row.id,
                OpenDecision(live.name, row.version, row.action, context, row.agent, row.made_at),
            )
        else:
            self._open.pop(row.decision_id, None)
            live.learner.learn(row.decision_id, context, row.action, row.value, row.done)
        live.through = row.seq

    def snapshot(self) -> dict[str, Any]:
        """The learners as plain data, for the next version of the plugin."""
        return {
            "seq": self._seq,
            "policies": {
                name: {
                    "version": live.version,
                    "through": live.through,
                    "state": live.learner.state(),
                }
                for name, live in self.live.items()
            },
        }

    def restore(self, snapshot: Mapping[str, Any]) -> None:
        """Take the learners the previous version handed over where they are at least as
        far along as what was loaded from the database (they are, unless it crashed)."""
        self._seq = max(self._seq, int(snapshot.get("seq", 0)))
        for name, held in snapshot.get("policies", {}).items():
            live = self.live.get(name)
            if live is None or live.version != held["version"] or held["through"] < live.through:
                continue
            live.learner.load(held["state"])
            live.through = held["through"]

    async def close(self) -> None:
        """Checkpoint every policy and commit everything logged; a database that keeps
        refusing the commit does not hold the stop up longer than `CLOSE_TIMEOUT`."""
        for live in self.live.values():
            self._checkpoint(live)
        try:
            await asyncio.wait_for(self.log.flush(), CLOSE_TIMEOUT)
        except TimeoutError:
            self.ctx.log.error(
                "learning: stopping with %d log rows not committed (%s)",
                self.log.depth,
                self.log.last_error,
            )

    # --- policies -------------------------------------------------------------------------

    async def create_policy(
        self, name: str, kind: str, actions: Sequence[str], **options: Any
    ) -> PolicyInfo:
        actions = list(actions)
        _check_name(name)
        if not actions or len(set(actions)) != len(actions):
            raise LearningError(m.BAD_ACTIONS)
        window = float(options.pop("reward_window", self.settings.reward_window))
        if window <= 0:
            raise LearningError(m.BAD_WINDOW)
        make_learner(kind, len(actions), options)  # refuses a bad kind or options now
        async with self._lock:
            existing = self.live.get(name)
            if existing is not None:
                same = (existing.kind, existing.actions, existing.options) == (
                    kind,
                    actions,
                    options,
                )
                if same and existing.version == 1:
                    return await self.info(name)
                raise PolicyExists(m.POLICY_EXISTS, name=name)
            await self.ctx.transaction(store.create_policy, name, kind, actions, options, window)
            self.live[name] = LivePolicy(
                name=name,
                kind=kind,
                actions=actions,
                options=options,
                version=1,
                learner=make_learner(kind, len(actions), options),
                reward_window=window,
                through=self._seq,
                checkpointed=self._seq,
            )
        return await self.info(name)

    def get(self, name: str) -> LivePolicy:
        live = self.live.get(name)
        if live is None:
            raise UnknownPolicy(m.UNKNOWN_POLICY, name=name)
        return live

    async def info(self, policy: str, points: int = 20) -> PolicyInfo:
        live = self.get(policy)
        await self.log.flush()
        values = await self.ctx.transaction(store.reward_values, policy, read_only=True)
        from .curves import curve, curves_by_agent

        return PolicyInfo(
            name=live.name,
            kind=live.kind,
            version=live.version,
            actions=list(live.actions),
            options=dict(live.options),
            decisions=live.decisions,
            rewards=live.rewards,
            mean_reward=live.reward_sum / live.rewards if live.rewards else None,
            curve=curve([v for v, _ in values], points),
            agents=curves_by_agent(values, points),
        )

    # --- deciding -------------------------------------------------------------------------

    async def decide(
        self,
        policy: str,
        context: Context | None = None,
        actions: Sequence[str] | None = None,
        *,
        agent: str | None = None,
        subject: str | None = None,
        durable: bool = False,
        experiment: str | None = None,
        arm: str | None = None,
    ) -> Decision:
        live = self.live.get(policy)
        if live is None:
            raise UnknownPolicy(m.UNKNOWN_POLICY, name=policy)
        allowed = None
        if actions is not None:
            try:
                allowed = [live.index[action] for action in actions]
            except KeyError as missing:
                raise LearningError(m.UNKNOWN_ACTION, name=policy, action=missing.args[0]) from None
            if not allowed:
                raise LearningError(m.NO_ACTIONS)
        learner = live.learner
        try:
            action, propensity = learner.choose(context, allowed)
        except (ValueError, TypeError) as error:
            raise LearningError(m.BAD_CONTEXT, name=policy, error=str(error)) from None
        decision_id = new_decision_id()
        learner.observe(decision_id, context, action)
        seq = self._seq = self._seq + 1
        live.through = seq
        live.decisions += 1
        now = time.time()
        self._open[decision_id] = OpenDecision(policy, live.version, action, context, agent, now)
        if len(self._open) > self._open_limit:  # the oldest: in the log, looked up there
            del self._open[next(iter(self._open))]
        waiting = self.log.decision(
            (
                seq,
                decision_id,
                policy,
                live.version,
                action,
                propensity,
                None if context is None else encode(context),
                agent,
                subject,
                experiment,
                arm,
                now,
            ),
            durable,
        )
        name = live.actions[action]
        if self._announce_decisions:
            await self.ctx.publish(
                DecisionMade(
                    decision_id=decision_id,
                    policy=policy,
                    version=live.version,
                    action=name,
                    propensity=propensity,
                    agent=agent,
                )
            )
        if waiting is not None:
            await waiting
        return Decision(decision_id, name, propensity, policy, live.version)

    def _remember(self, decision_id: str, decision: OpenDecision) -> None:
        self._open[decision_id] = decision
        if len(self._open) > self._open_limit:  # the oldest: in the log
            del self._open[next(iter(self._open))]

    # --- rewarding ------------------------------------------------------------------------

    async def reward(
        self, decision_id: str, value: float, *, done: bool = False, durable: bool = True
    ) -> RewardReceipt:
        value = float(value)
        if not math.isfinite(value):
            raise LearningError(m.BAD_REWARD)
        if decision_id in self._settled:
            return await self._repeated(decision_id, value, durable)
        decision = self._open.pop(decision_id, None)
        if decision is None:
            decision = await self._look_up(decision_id, value, durable)
            if isinstance(decision, RewardReceipt):
                return decision
        live = self.get(decision.policy)
        now = time.time()
        age = now - decision.made_at
        if age > live.reward_window:
            raise ExpiredDecision(
                m.EXPIRED,
                decision_id=decision_id,
                age=round(age),
                name=live.name,
                window=round(live.reward_window),
            )
        try:
            live.learner.learn(decision_id, decision.context, decision.action, value, done)
        except ValueError as error:
            self._open[decision_id] = decision
            raise LearningError(
                m.REWARD_REFUSED, name=live.name, value=value, error=str(error)
            ) from None
        seq = self._seq = self._seq + 1
        live.through = seq
        live.rewards += 1
        live.reward_sum += value
        committed = self.log.reward(
            (seq, decision_id, decision.policy, value, done, decision.agent, now), durable
        )
        self._settled[decision_id] = value
        if seq - live.checkpointed >= self._checkpoint_every:
            self._checkpoint(live)
        late = age > live.reward_window / 2
        if self._announce_rewards:
            await self.ctx.publish(
                RewardCounted(
                    decision_id=decision_id,
                    policy=live.name,
                    version=live.version,
                    action=live.actions[decision.action],
                    reward=value,
                    agent=decision.agent,
                    late=late,
                )
            )
        if committed is not None:
            await committed
        return RewardReceipt(decision_id, True, late)

    async def _look_up(
        self, decision_id: str, value: float, durable: bool
    ) -> OpenDecision | RewardReceipt:
        """A decision no longer held in memory (older than the newest `max_open_decisions`,
        or made before a restart), from the log; or the receipt of its earlier reward."""
        logged = await self.ctx.transaction(store.find_decision, decision_id)
        if decision_id in self._settled:  # rewarded while we looked
            return await self._repeated(decision_id, value, durable)
        if logged is None:
            raise UnknownDecision(m.UNKNOWN_DECISION, decision_id=decision_id)
        if logged.reward is not None:
            return _duplicate(decision_id, logged.reward, value)
        return self._open.pop(decision_id, None) or OpenDecision(
            logged.policy,
            logged.version,
            logged.action,
            logged.context,
            logged.agent,
            logged.made_at,
        )

    async def _repeated(self, decision_id: str, value: float, durable: bool) -> RewardReceipt:
        """The receipt for a reward counted before, once that is committed (if asked)."""
        receipt = _duplicate(decision_id, self._settled[decision_id], value)
        if durable:
            await self.log.flush()
        return receipt

    def _forget_settled(self, committed: list[tuple[Any, ...]]) -> None:
        """Rewards now in the log: a repeat is recognised there from now on."""
        settled = self._settled
        for row in committed:
            settled.pop(row[1], None)

    # --- checkpoints ----------------------------------------------------------------------

    def _checkpoint(self, live: LivePolicy) -> None:
        if live.through == live.checkpointed:
            return
        state = encode(live.learner.state())
        self.log.checkpoint(live.name, live.version, state, live.through)
        live.checkpointed = live.through

    def checkpoint_all(self) -> None:
        for live in self.live.values():
            self._checkpoint(live)

    # --- versions -------------------------------------------------------------------------

    async def install(
        self,
        name: str,
        kind: str,
        options: dict[str, Any],
        learner: Learner,
        reason: str,
        evaluation: dict[str, Any] | None = None,
    ) -> int:
        """Make `learner` the live version of `name`, keeping the one it replaces."""
        async with self._lock:
            live = self.get(name)
            self._checkpoint(live)
            await self.log.flush()
            version = await self.ctx.transaction(
                store.add_version,
                name,
                kind,
                options,
                learner.state(),
                self._seq,
                reason,
                evaluation,
            )
            self._swap(live, kind, options, version, learner)
            return version

    async def rollback(self, name: str, version: int) -> int:
        """Make a kept version live again, as it was kept: its state goes on from now, so
        a restart replays only the log after the rollback into it, as memory has it."""
        async with self._lock:
            live = self.get(name)
            self._checkpoint(live)
            await self.log.flush()
            row = await self.ctx.transaction(store.set_live, name, version, self._seq)
            if row is None:
                raise LearningError(m.UNKNOWN_VERSION, name=name, version=version)
            learner = make_learner(row.kind, len(live.actions), row.options)
            if row.state is not None:
                learner.load(row.state)
            self._swap(live, row.kind, row.options, version, learner)
            return version

    def _swap(
        self, live: LivePolicy, kind: str, options: dict[str, Any], version: int, learner: Learner
    ) -> None:
        live.kind, live.options, live.version, live.learner = kind, options, version, learner
        live.through = live.checkpointed = self._seq

    async def versions(self, name: str) -> list[store.VersionRow]:
        self.get(name)
        return await self.ctx.transaction(store.policy_versions, name, read_only=True)

    @property
    def open_decisions(self) -> int:
        return len(self._open)


def _duplicate(decision_id: str, first: float, value: float) -> RewardReceipt:
    if first != value:
        raise RewardConflict(m.CONFLICT, decision_id=decision_id, first=first, value=value)
    return RewardReceipt(decision_id, counted=False)


def _check_name(name: str) -> None:
    if not name or len(name) > NAME_LIMIT or "/" in name or name.strip() != name:
        raise LearningError(m.BAD_NAME, limit=NAME_LIMIT)


def make_learner(kind: str, n_actions: int, options: Mapping[str, Any]) -> Learner:
    """`kinds.make_learner`, imported at the first policy: the learners need numpy, which
    a start with no policies (a fresh database) then never imports."""
    from .kinds import make_learner as make

    return make(kind, n_actions, options)
