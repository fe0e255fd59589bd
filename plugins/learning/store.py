"""Reading and writing policies, versions and the log: plain synchronous SQLAlchemy, run
through `ctx.transaction` (one thread hop per unit of work)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import msgspec
from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from .models import decisions, experiments, policies, rewards, versions

encode = msgspec.json.encode
decode = msgspec.json.decode


@dataclass(frozen=True, slots=True)
class PolicyRow:
    name: str
    actions: list[str]
    live_version: int
    reward_window: float


@dataclass(frozen=True, slots=True)
class VersionRow:
    policy: str
    version: int
    kind: str
    options: dict[str, Any]
    state: dict[str, Any] | None
    through: int
    created_at: float
    reason: str
    evaluation: dict[str, Any] | None


@dataclass(frozen=True, slots=True)
class LoggedDecision:
    id: str
    seq: int
    policy: str
    version: int
    action: int
    propensity: float
    context: dict[str, Any] | None
    agent: str | None
    made_at: float
    reward: float | None


def _version(row: Any) -> VersionRow:
    return VersionRow(
        policy=row.policy,
        version=row.version,
        kind=row.kind,
        options=decode(row.options),
        state=decode(row.state) if row.state is not None else None,
        through=row.through,
        created_at=row.created_at,
        reason=row.reason,
        evaluation=decode(row.evaluation) if row.evaluation is not None else None,
    )


def all_policies(session: Session) -> list[tuple[PolicyRow, VersionRow]]:
    rows = session.execute(
        select(policies, versions)
        .join(
            versions,
            (versions.c.policy == policies.c.name)
            & (versions.c.version == policies.c.live_version),
        )
        .order_by(policies.c.name)
    ).all()
    return [
        (PolicyRow(r.name, decode(r.actions), r.live_version, r.reward_window), _version(r))
        for r in rows
    ]


def create_policy(
    session: Session,
    name: str,
    kind: str,
    actions: list[str],
    options: dict[str, Any],
    reward_window: float,
) -> None:
    now = time.time()
    session.execute(
        insert(policies).values(
            name=name,
            actions=encode(actions),
            live_version=1,
            reward_window=reward_window,
            created_at=now,
        )
    )
    session.execute(
        insert(versions).values(
            policy=name,
            version=1,
            kind=kind,
            options=encode(options),
            state=None,
            through=0,
            created_at=now,
            reason="created",
        )
    )


def add_version(
    session: Session,
    policy: str,
    kind: str,
    options: dict[str, Any],
    state: dict[str, Any],
    through: int,
    reason: str,
    evaluation: dict[str, Any] | None,
) -> int:
    """Keep a new version and make it live; returns its number."""
    latest = session.execute(
        select(func.max(versions.c.version)).where(versions.c.policy == policy)
    ).scalar_one()
    version = int(latest or 0) + 1
    session.execute(
        insert(versions).values(
            policy=policy,
            version=version,
            kind=kind,
            options=encode(options),
            state=encode(state),
            through=through,
            created_at=time.time(),
            reason=reason,
            evaluation=encode(evaluation) if evaluation is not None else None,
        )
    )
    session.execute(update(policies).where(policies.c.name == policy).values(live_version=version))
    return version


def set_live(session: Session, policy: str, version: int, through: int) -> VersionRow | None:
    """Make a kept version live; its state stands for the log up to `through` from now on."""
    found = versions.c.policy == policy, versions.c.version == version
    row = session.execute(select(versions).where(*found)).one_or_none()
    if row is None:
        return None
    session.execute(update(versions).where(*found).values(through=through))
    session.execute(update(policies).where(policies.c.name == policy).values(live_version=version))
    return _version(row)


def save_state(session: Session, policy: str, version: int, state: bytes, through: int) -> None:
    session.execute(
        update(versions)
        .where(versions.c.policy == policy, versions.c.version == version)
        .values(state=state, through=through)
    )


def policy_versions(session: Session, policy: str) -> list[VersionRow]:
    rows = session.execute(
        select(versions).where(versions.c.policy == policy).order_by(versions.c.version)
    ).all()
    return [_version(r) for r in rows]


def last_seq(session: Session) -> int:
    top_decision = session.execute(select(func.max(decisions.c.seq))).scalar_one()
    top_reward = session.execute(select(func.max(rewards.c.seq))).scalar_one()
    return max(int(top_decision or 0), int(top_reward or 0))


def counts(session: Session) -> dict[str, tuple[int, int, float]]:
    """Per policy: decisions, rewards and the sum of rewards."""
    made = dict(
        session.execute(select(decisions.c.policy, func.count()).group_by(decisions.c.policy)).all()
    )
    rewarded = {
        p: (n, s or 0.0)
        for p, n, s in session.execute(
            select(rewards.c.policy, func.count(), func.sum(rewards.c.value)).group_by(
                rewards.c.policy
            )
        ).all()
    }
    return {
        policy: (int(made.get(policy, 0)), *rewarded.get(policy, (0, 0.0)))
        for policy in set(made) | set(rewarded)
    }


def log_after(session: Session, policy: str, through: int) -> Iterator[tuple[str, Any]]:
    """The policy's decisions and rewards after `through`, in the order the engine saw
    them: ("decision", row) and ("reward", row)."""
    made = session.execute(
        select(decisions)
        .where(decisions.c.policy == policy, decisions.c.seq > through)
        .order_by(decisions.c.seq)
    ).all()
    taken = session.execute(
        select(rewards, decisions.c.context, decisions.c.action)
        .join(decisions, decisions.c.id == rewards.c.decision_id)
        .where(rewards.c.policy == policy, rewards.c.seq > through)
        .order_by(rewards.c.seq)
    ).all()
    entries = [(r.seq, "decision", r) for r in made] + [(r.seq, "reward", r) for r in taken]
    entries.sort(key=lambda entry: entry[0])
    return [(kind, row) for _, kind, row in entries]  # type: ignore[return-value]


def find_decision(session: Session, decision_id: str) -> LoggedDecision | None:
    row = session.execute(
        select(decisions, rewards.c.value)
        .outerjoin(rewards, rewards.c.decision_id == decisions.c.id)
        .where(decisions.c.id == decision_id)
    ).one_or_none()
    return _logged(row) if row is not None else None


def _logged(row: Any) -> LoggedDecision:
    return LoggedDecision(
        id=row.id,
        seq=row.seq,
        policy=row.policy,
        version=row.version,
        action=row.action,
        propensity=row.propensity,
        context=decode(row.context) if row.context is not None else None,
        agent=row.agent,
        made_at=row.made_at,
        reward=row.value,
    )


def rewarded_decisions(session: Session, policy: str, limit: int) -> list[LoggedDecision]:
    """The latest `limit` rewarded decisions of `policy`, oldest first: what off-policy
    evaluation and candidate training read."""
    rows = session.execute(
        select(decisions, rewards.c.value)
        .join(rewards, rewards.c.decision_id == decisions.c.id)
        .where(decisions.c.policy == policy)
        .order_by(decisions.c.seq.desc())
        .limit(limit)
    ).all()
    return [_logged(r) for r in reversed(rows)]


def reward_values(session: Session, policy: str) -> list[tuple[float, str | None]]:
    return [
        (r.value, r.agent)
        for r in session.execute(
            select(rewards.c.value, rewards.c.agent)
            .where(rewards.c.policy == policy)
            .order_by(rewards.c.seq)
        )
    ]


def save_experiment(session: Session, values: dict[str, Any]) -> None:
    session.execute(insert(experiments).values(**values))


def load_experiment(session: Session, name: str) -> Any:
    return session.execute(select(experiments).where(experiments.c.name == name)).one_or_none()


def experiment_outcomes(session: Session, name: str) -> list[tuple[str, float | None]]:
    """Each decision made in experiment `name`: its arm and reward (None: none yet)."""
    return [
        (r.arm, r.value)
        for r in session.execute(
            select(decisions.c.arm, rewards.c.value)
            .outerjoin(rewards, rewards.c.decision_id == decisions.c.id)
            .where(decisions.c.experiment == name)
        )
    ]
