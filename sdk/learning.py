"""Learning: the contract between the learning engine and the plugins that ask it to choose.

A plugin that must pick one of a few actions (which canned reply, which price, which dunning
step) and can later say how it went asks the `LearningEngine` service (`ctx.resolve(
LearningEngine)`, put `learning` in the manifest's `requires`; or a handler parameter named
`learning_engine`) for a decision, then rewards it::

    engine = ctx.resolve(LearningEngine)
    await engine.create_policy("support-replies", "lin_thompson", ["refund", "reset", "faq"])
    decision = await engine.decide("support-replies", {"category": "billing", "language": "nb"})
    ...                                   # send the reply named decision.action
    await engine.reward(decision.id, 1.0)  # the ticket was resolved

Every decision carries the `propensity` with which its action was chosen, so a different
policy can be evaluated on the logged decisions later (off-policy evaluation). A reward is
counted once however often it is delivered, and is committed before `reward` returns.

`policy(name)` binds the two calls to one policy (`Policy`), the shape every policy has,
learned or not. `UniformPolicy` is the default that needs no engine: it picks uniformly at
random and ignores rewards, so a plugin works alone and improves when the engine runs.

The same calls are offered over HTTP under `/api/learning/` and on the bus: a request on
`learning.decide` (`DecideRequest`) answers with the decision, and a `learning.reward.deliver`
event (`RewardDelivered`) delivers a reward. Each decision is announced as `learning.decision`
(`DecisionMade`) and each reward counted as `learning.reward` (`RewardCounted`).
"""

from __future__ import annotations

import random
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

from mindframe.kernel.bus import Event

Kind = Literal[
    "epsilon_greedy",
    "ucb1",
    "thompson_beta",
    "thompson_gaussian",
    "linucb",
    "lin_thompson",
    "q_learning",
    "sarsa",
]
"""The learners the engine offers: context-free bandits (`epsilon_greedy`, `ucb1`,
`thompson_beta` for 0/1 rewards, `thompson_gaussian`), contextual bandits on the context's
features (`linucb`, `lin_thompson`), and tabular learners for episodic tasks (`q_learning`,
`sarsa`: the context names the `state` and the `episode`)."""

KINDS: tuple[str, ...] = Kind.__args__  # type: ignore[attr-defined]

Context = Mapping[str, Any]
"""What a decision is made in: strings, numbers and booleans by name (`{"category":
"billing", "amount": 120}`). Tabular learners read `state` and `episode` from it."""


@dataclass(frozen=True, slots=True)
class Decision:
    """An action chosen by a policy: `id` is what the reward names, `propensity` the
    probability with which `action` was chosen (1.0 for a deterministic choice)."""

    id: str
    action: str
    propensity: float
    policy: str = ""
    version: int = 0


@dataclass(frozen=True, slots=True)
class RewardReceipt:
    """A reward taken: `counted` is False when the same reward had been counted before (a
    redelivery), `late` when it came after the decision's reward window had half passed."""

    decision_id: str
    counted: bool
    late: bool = False


@dataclass(frozen=True, slots=True)
class CurvePoint:
    """One stretch of a reward curve: `rewards` rewards, the `mean` of them, and the mean of
    all rewards up to the end of the stretch (`cumulative`)."""

    rewards: int
    mean: float
    cumulative: float


@dataclass(frozen=True, slots=True)
class PolicyInfo:
    """What the engine knows about a policy: its live version's kind and options, counts,
    the mean reward, and reward curves (overall and per agent that decided through it)."""

    name: str
    kind: str
    version: int
    actions: list[str]
    options: dict[str, Any]
    decisions: int
    rewards: int
    mean_reward: float | None
    curve: list[CurvePoint] = field(default_factory=list)
    agents: dict[str, list[CurvePoint]] = field(default_factory=dict)


class LearningError(ValueError):
    """A call the engine refused; `status` is the HTTP status to answer with. The message
    is `template` filled with `params`; `detail(gettext)` gives it translated."""

    status = 400

    def __init__(self, template: str, **params: Any) -> None:
        super().__init__(template.format(**params))
        self.template = template
        self.params = params

    def detail(self, gettext: Callable[[str], str]) -> str:
        return gettext(self.template).format(**self.params)


class UnknownPolicy(LearningError):
    status = 404


class UnknownDecision(LearningError):
    """No decision has that id (or it was never made durable before a crash)."""

    status = 404


class ExpiredDecision(LearningError):
    """The decision is older than its policy's reward window: too late to count."""

    status = 410


class RewardConflict(LearningError):
    """The decision was rewarded already, with a different value."""

    status = 409


class PolicyExists(LearningError):
    status = 409


class Policy(ABC):
    """One policy: choose an action in a context, then hear how it went."""

    @abstractmethod
    async def decide(
        self, context: Context | None = None, actions: Sequence[str] | None = None
    ) -> Decision:
        """Choose among `actions` (None: all the policy's actions) in `context`."""

    @abstractmethod
    async def reward(self, decision_id: str, value: float) -> RewardReceipt:
        """Count `value` as the outcome of the decision `decision_id`."""


class UniformPolicy(Policy):
    """The default policy: every allowed action equally likely, rewards ignored. What a
    plugin uses when no learning engine runs; also the baseline a learned policy beats."""

    def __init__(self, actions: Sequence[str], seed: int | None = None) -> None:
        if not actions:
            raise LearningError("a policy needs at least one action")
        self.actions = list(actions)
        self._random = random.Random(seed)
        self._count = 0

    async def decide(
        self, context: Context | None = None, actions: Sequence[str] | None = None
    ) -> Decision:
        allowed = list(actions) if actions else self.actions
        self._count += 1
        action = self._random.choice(allowed)
        return Decision(id=f"uniform-{self._count}", action=action, propensity=1 / len(allowed))

    async def reward(self, decision_id: str, value: float) -> RewardReceipt:
        return RewardReceipt(decision_id=decision_id, counted=False)


class LearningEngine(ABC):
    """The service the learning plugin provides: durable, learning policies by name."""

    @abstractmethod
    async def create_policy(
        self, name: str, kind: Kind | str, actions: Sequence[str], **options: Any
    ) -> PolicyInfo:
        """Create the policy `name` (version 1) learning with `kind` over `actions`; options
        are the kind's (`epsilon`, `alpha`, `gamma`, `reward_window` …). `PolicyExists` if
        the name is taken with other settings; the same settings again return it as it is."""

    @abstractmethod
    async def decide(
        self,
        policy: str,
        context: Context | None = None,
        actions: Sequence[str] | None = None,
        *,
        agent: str | None = None,
        subject: str | None = None,
        durable: bool = False,
    ) -> Decision:
        """Choose an action of `policy` (among `actions`, a subset of its own, when given).

        The decision is logged: at once in memory and in the database within the engine's
        flush interval (tens of milliseconds); `durable=True` returns only after it is
        committed. A reward is always committed with the decision it names before it is
        acknowledged. `agent` labels the reward curve it counts in; `subject` is the person
        the decision was about, for their data export and erasure."""

    @abstractmethod
    async def reward(
        self,
        decision_id: str,
        value: float,
        *,
        done: bool = False,
        durable: bool = True,
    ) -> RewardReceipt:
        """Count `value` as the outcome of `decision_id`, once however often delivered.

        Raises `UnknownDecision`, `ExpiredDecision` (past its policy's reward window) or
        `RewardConflict` (rewarded before with another value). Returns once the reward and
        its decision are committed (`durable=False`: once counted, committed within the
        flush interval). Tabular learners take `done` (the episode ended with this step)."""

    @abstractmethod
    async def info(self, policy: str) -> PolicyInfo:
        """The policy's live version, counts and reward curves; `UnknownPolicy` if none."""

    def policy(self, name: str, *, agent: str | None = None) -> Policy:
        """`name` as a `Policy`, deciding and rewarding through this engine."""
        return BoundPolicy(self, name, agent)


class BoundPolicy(Policy):
    """A named policy of a `LearningEngine`, as a `Policy`."""

    def __init__(self, engine: LearningEngine, name: str, agent: str | None = None) -> None:
        self.engine = engine
        self.name = name
        self.agent = agent

    async def decide(
        self, context: Context | None = None, actions: Sequence[str] | None = None
    ) -> Decision:
        return await self.engine.decide(self.name, context, actions, agent=self.agent)

    async def reward(self, decision_id: str, value: float) -> RewardReceipt:
        return await self.engine.reward(decision_id, value)


# --- the bus ---------------------------------------------------------------------------------


class DecideRequest(Event):
    """Ask for a decision over the bus: `await ctx.bus.request(DecideRequest(...))` answers
    `{"decision_id", "action", "propensity"}`, or `{"error", "status"}` when refused."""

    topic: ClassVar[str] = "learning.decide"

    policy: str
    context: dict[str, Any] = {}
    actions: list[str] | None = None
    agent: str | None = None


class RewardDelivered(Event):
    """Deliver a reward over the bus; kept in the bus's durable log, so a reward published
    is not lost, and counted once however often it is delivered."""

    topic: ClassVar[str] = "learning.reward.deliver"
    durable: ClassVar[bool] = True

    decision_id: str
    reward: float
    done: bool = False


class DecisionMade(Event):
    """Announced for every decision (not written to the bus's log: the engine's decision
    log is the record)."""

    topic: ClassVar[str] = "learning.decision"

    decision_id: str
    policy: str
    version: int
    action: str
    propensity: float
    agent: str | None = None


class RewardCounted(Event):
    """Announced when a reward is counted (once per decision: not for a redelivery), right
    after the learner took it; not written to the bus's log: the engine's reward log is the
    record. `late` as in `RewardReceipt`."""

    topic: ClassVar[str] = "learning.reward"

    decision_id: str
    policy: str
    version: int
    action: str
    reward: float
    agent: str | None = None
    late: bool = False


__all__ = [
    "KINDS",
    "BoundPolicy",
    "Context",
    "CurvePoint",
    "DecideRequest",
    "Decision",
    "DecisionMade",
    "ExpiredDecision",
    "Kind",
    "LearningEngine",
    "LearningError",
    "Policy",
    "PolicyExists",
    "PolicyInfo",
    "RewardConflict",
    "RewardCounted",
    "RewardDelivered",
    "RewardReceipt",
    "UniformPolicy",
    "UnknownDecision",
    "UnknownPolicy",
]
