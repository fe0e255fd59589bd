"""Tabular Q-learning and SARSA for episodic tasks, with experience replay and epsilon or
softmax exploration that decays per finished episode.

Through the engine a step is a decision: the context names the `state` and the `episode`.
A step's transition is complete when its reward is in and either the episode ended with it
(`done`) or the episode's next decision was made (which gives the next state and, for
SARSA, the next action), in whatever order those arrive.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from .choice import allowed_mask, epsilon_probabilities, from_probabilities, softmax_probabilities
from .learner import Context, Learner
from .replay import ReplayBuffer

MAX_OPEN_EPISODES = 100_000


class TabularLearner(Learner):
    on_policy = False

    def __init__(self, n_actions: int, options: Mapping[str, Any]) -> None:
        super().__init__(n_actions, options)
        self.alpha = float(options.get("alpha", 0.1))
        self.gamma = float(options.get("gamma", 0.99))
        self.exploration = str(options.get("exploration", "epsilon"))
        if self.exploration not in ("epsilon", "softmax"):
            raise ValueError(f"exploration is 'epsilon' or 'softmax', not {self.exploration!r}")
        self.batch = int(options.get("batch", 32))
        self.replay_every = int(options.get("replay_every", 1))
        self.replay = ReplayBuffer(int(options.get("replay_capacity", 50_000)))
        self.initial = float(options.get("initial", 0.0))
        self.q = np.full((64, n_actions), self.initial)
        self.states: dict[str, int] = {}
        self.episodes = 0
        self.transitions = 0
        self._open: OrderedDict[str, list[list[Any]]] = OrderedDict()
        """episode -> its steps not yet complete: [decision id, state, action, reward|None]"""

    # --- states and exploration ------------------------------------------------------------

    def state_index(self, state: Any) -> int:
        key = str(state)
        index = self.states.get(key)
        if index is None:
            index = self.states[key] = len(self.states)
            if index >= len(self.q):
                grown = np.full((len(self.q) * 2, self.n_actions), self.initial)
                grown[: len(self.q)] = self.q
                self.q = grown
        return index

    def temperature(self) -> float:
        """Epsilon or the softmax temperature after `self.episodes` finished episodes."""
        start = float(self.options.get("epsilon" if self.exploration == "epsilon" else "tau", 0.1))
        decay = float(self.options.get("decay", 1.0))
        floor = float(
            self.options.get("min_epsilon" if self.exploration == "epsilon" else "min_tau", 0.0)
        )
        return max(floor, start * decay**self.episodes)

    def distribution(self, state: int, mask: np.ndarray) -> np.ndarray:
        if self.exploration == "epsilon":
            return epsilon_probabilities(self.q[state], mask, self.temperature())
        return softmax_probabilities(self.q[state], mask, self.temperature())

    def choose(self, context: Context, allowed: list[int] | None) -> tuple[int, float]:
        state = self.state_index(_field(context, "state"))
        return from_probabilities(
            self.distribution(state, allowed_mask(self.n_actions, allowed)), self.rng
        )

    def greedy(self, state: Any) -> int:
        """The best action in `state` (ties to the lowest index), for evaluation."""
        return int(self.q[self.state_index(state)].argmax())

    def probabilities(self, contexts: Sequence[Context]) -> np.ndarray:
        mask = allowed_mask(self.n_actions, None)
        return np.array(
            [self.distribution(self.state_index(_field(c, "state")), mask) for c in contexts]
        )

    # --- steps into transitions ------------------------------------------------------------

    def observe(self, decision_id: str, context: Context, action: int) -> None:
        episode = str(_field(context, "episode", decision_id))
        state = self.state_index(_field(context, "state"))
        steps = self._open.get(episode)
        if steps is None:
            steps = self._open[episode] = []
            while len(self._open) > MAX_OPEN_EPISODES:
                self._open.popitem(last=False)
        steps.append([decision_id, state, action, None])
        self._settle(episode, steps)

    def learn(
        self, decision_id: str, context: Context, action: int, reward: float, done: bool
    ) -> None:
        episode = str(_field(context, "episode", decision_id))
        steps = self._open.get(episode, [])
        for step in steps:
            if step[0] == decision_id:
                step[3] = reward
                break
        else:  # a step nobody observed (its decision predates a crash): learn it alone
            state = self.state_index(_field(context, "state"))
            steps = self._open.setdefault(episode, [])
            steps.append([decision_id, state, action, reward])
        if not _has_episode(context):
            done = True
        self._settle(episode, steps, done_at=decision_id if done else None)

    def _settle(self, episode: str, steps: list[list[Any]], done_at: str | None = None) -> None:
        """Turn every completed step at the front of the episode into a transition."""
        while steps and steps[0][3] is not None:
            decision_id, state, action, reward = steps[0]
            if decision_id == done_at:
                self.update(state, action, reward, state, action, True)
                steps.clear()
                self.episodes += 1
                break
            if len(steps) < 2:
                break
            _, next_state, next_action, _ = steps[1]
            self.update(state, action, reward, next_state, next_action, False)
            steps.pop(0)
        if not steps:
            self._open.pop(episode, None)

    # --- learning --------------------------------------------------------------------------

    def targets(
        self, reward: np.ndarray, next_state: np.ndarray, next_action: np.ndarray, done: np.ndarray
    ) -> np.ndarray:
        raise NotImplementedError

    def update(
        self, state: int, action: int, reward: float, next_state: int, next_action: int, done: bool
    ) -> None:
        self.replay.add(state, action, reward, next_state, next_action, done)
        self.transitions += 1
        self.updates += 1
        self._apply(np.array([(self.replay._next - 1) % self.replay.capacity]))
        if (
            self.batch
            and self.replay.size >= self.batch
            and self.transitions % self.replay_every == 0
        ):
            self._apply(self.replay.sample(self.rng, self.batch))

    def _apply(self, index: np.ndarray) -> None:
        """One step of size `alpha` towards the target for each transition at `index`; a
        state-action drawn more than once moves by the mean of its steps, not their sum."""
        r = self.replay
        target = self.targets(
            r.reward[index], r.next_state[index], r.next_action[index], r.done[index]
        )
        cells = r.state[index] * self.n_actions + r.action[index]
        table = self.q.reshape(-1)
        unique, inverse, counts = np.unique(cells, return_inverse=True, return_counts=True)
        steps = self.alpha * (target - table[cells])
        table[unique] += np.bincount(inverse, weights=steps) / counts

    # --- state -----------------------------------------------------------------------------

    def state(self) -> dict[str, Any]:
        return {
            "q": self.q[: len(self.states)].tolist(),
            "states": list(self.states),
            "episodes": self.episodes,
            "transitions": self.transitions,
            "updates": self.updates,
            "replay": self.replay.state_dict(),
            "open": [[episode, steps] for episode, steps in self._open.items()],
        }

    def load(self, state: Mapping[str, Any]) -> None:
        self.states = {key: index for index, key in enumerate(state["states"])}
        rows = max(64, len(self.states))
        self.q = np.full((rows, self.n_actions), self.initial)
        if self.states:
            self.q[: len(self.states)] = np.array(state["q"], dtype=float)
        self.episodes = int(state["episodes"])
        self.transitions = int(state["transitions"])
        self.updates = int(state.get("updates", 0))
        self.replay.load(state["replay"])
        self._open = OrderedDict((episode, steps) for episode, steps in state["open"])


class QLearning(TabularLearner):
    """Off-policy: the target is `r + gamma * max_a' Q(s', a')`."""

    kind = "q_learning"

    def targets(self, reward, next_state, next_action, done):  # type: ignore[no-untyped-def]
        return reward + self.gamma * np.where(done, 0.0, self.q[next_state].max(axis=1))


class Sarsa(TabularLearner):
    """On-policy: the target is `r + gamma * Q(s', a')` with the action actually taken next."""

    kind = "sarsa"
    on_policy = True

    def targets(self, reward, next_state, next_action, done):  # type: ignore[no-untyped-def]
        return reward + self.gamma * np.where(done, 0.0, self.q[next_state, next_action])


def _field(context: Context, name: str, default: Any = None) -> Any:
    if context is None or name not in context:
        if default is None:
            raise ValueError(f"a tabular policy needs the context's {name!r}")
        return default
    return context[name]


def _has_episode(context: Context) -> bool:
    return context is not None and "episode" in context
