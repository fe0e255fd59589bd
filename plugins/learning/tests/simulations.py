"""Simulated worlds with known answers, shared by the tests: Bernoulli arms, contextual
arms whose reward depends on the context, and the support ticket stream."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

CATEGORIES = ("billing", "technical", "account", "shipping")
LANGUAGES = ("nb", "sv", "de", "en")
REPLIES = ("refund", "reset-password", "tracking-link", "escalate", "faq-article")


def resolution_probabilities(seed: int = 7) -> np.ndarray:
    """category x language x reply: the chance each reply resolves such a ticket. Each
    category has one reply that works well, better in some languages than others (the
    article is translated only into some), and the rest work poorly."""
    rng = np.random.default_rng(seed)
    p = rng.uniform(0.05, 0.3, size=(len(CATEGORIES), len(LANGUAGES), len(REPLIES)))
    good = {"billing": "refund", "technical": "reset-password", "account": "faq-article",
            "shipping": "tracking-link"}  # fmt: skip
    for c, category in enumerate(CATEGORIES):
        r = REPLIES.index(good[category])
        p[c, :, r] = rng.uniform(0.6, 0.85, size=len(LANGUAGES))
    p[:, LANGUAGES.index("de"), REPLIES.index("faq-article")] = 0.1  # no German article
    p[CATEGORIES.index("account"), LANGUAGES.index("de"), REPLIES.index("escalate")] = 0.7
    return p


@dataclass
class TicketStream:
    seed: int

    def __post_init__(self) -> None:
        self.rng = np.random.default_rng(self.seed)
        self.p = resolution_probabilities()

    def ticket(self) -> dict[str, str]:
        return {
            "category": CATEGORIES[self.rng.integers(len(CATEGORIES))],
            "language": LANGUAGES[self.rng.integers(len(LANGUAGES))],
        }

    def resolved(self, ticket: dict[str, str], reply: str) -> float:
        c, lang = CATEGORIES.index(ticket["category"]), LANGUAGES.index(ticket["language"])
        return float(self.rng.random() < self.p[c, lang, REPLIES.index(reply)])

    def uniform_rate(self) -> float:
        """The resolution rate of a reply picked uniformly at random: the baseline."""
        return float(self.p.mean())

    def best_rate(self) -> float:
        return float(self.p.max(axis=2).mean())
