"""Choosing an action and stating its propensity: the pieces every learner shares.

A propensity must be the probability the action really had, so the choice is made from an
explicit distribution (`from_probabilities`) or from an ensemble of sampled scores whose
empirical argmax distribution is exactly what was sampled from (`ensemble_probabilities`).
"""

from __future__ import annotations

import numpy as np


def allowed_mask(n_actions: int, allowed: list[int] | None) -> np.ndarray:
    mask = np.zeros(n_actions, dtype=bool)
    if allowed is None:
        mask[:] = True
    else:
        mask[allowed] = True
    return mask


def greedy_probabilities(scores: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Uniform over the best allowed actions (ties split evenly), zero elsewhere."""
    masked = np.where(mask, scores, -np.inf)
    best = masked == masked.max()
    return best / best.sum()


def epsilon_probabilities(scores: np.ndarray, mask: np.ndarray, epsilon: float) -> np.ndarray:
    """With probability `epsilon` any allowed action, else a best one."""
    uniform = mask / mask.sum()
    return (1.0 - epsilon) * greedy_probabilities(scores, mask) + epsilon * uniform


def softmax_probabilities(scores: np.ndarray, mask: np.ndarray, temperature: float) -> np.ndarray:
    masked = np.where(mask, scores, -np.inf)
    z = (masked - masked.max()) / max(temperature, 1e-12)
    weights = np.exp(z)
    return weights / weights.sum()


def from_probabilities(probabilities: np.ndarray, rng: np.random.Generator) -> tuple[int, float]:
    """Draw an action from `probabilities`; return it and its probability."""
    action = int(np.searchsorted(np.cumsum(probabilities), rng.random() * probabilities.sum()))
    action = min(action, len(probabilities) - 1)
    while probabilities[action] == 0.0:  # the draw landed on a boundary: step to a real one
        action = (action + 1) % len(probabilities)
    return action, float(probabilities[action])


def ensemble_probabilities(samples: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """`samples` is actions x draws; the share of draws each allowed action wins."""
    masked = np.where(mask[:, None], samples, -np.inf)
    winners = masked.argmax(axis=0)
    return np.bincount(winners, minlength=samples.shape[0]) / samples.shape[1]
