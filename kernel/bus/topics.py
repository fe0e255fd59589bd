"""Topic and pattern matching with NATS wildcards.

A token trie finds the subscriptions for a topic without scanning them all, and a
per-topic cache (cleared on every (un)subscribe) makes the hot path one dict lookup.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from typing import Generic, TypeVar

T = TypeVar("T", bound=Hashable)

_CACHE_LIMIT = 10_000


def validate_topic(topic: str) -> str:
    """Reject topics a pattern could not address (empty tokens, wildcards)."""
    tokens = topic.split(".")
    if not topic or any(not t or t in ("*", ">") or " " in t for t in tokens):
        raise ValueError(f"invalid topic {topic!r}: dot-separated non-empty tokens, no wildcards")
    return topic


def validate_pattern(pattern: str) -> str:
    """Accept NATS patterns: ``*`` is one token, ``>`` the rest and only last."""
    tokens = pattern.split(".")
    for i, tok in enumerate(tokens):
        if not tok or " " in tok:
            raise ValueError(f"invalid pattern {pattern!r}: empty token")
        if tok == ">" and i != len(tokens) - 1:
            raise ValueError(f"invalid pattern {pattern!r}: '>' must be the last token")
        if ("*" in tok or ">" in tok) and tok not in ("*", ">"):
            raise ValueError(f"invalid pattern {pattern!r}: wildcards must be whole tokens")
    return pattern


def matches(pattern: str, topic: str) -> bool:
    """Match one pattern against one topic (used for filtering, not routing)."""
    p_tokens = pattern.split(".")
    t_tokens = topic.split(".")
    for i, p in enumerate(p_tokens):
        if p == ">":
            return len(t_tokens) > i
        if i >= len(t_tokens) or (p != "*" and p != t_tokens[i]):
            return False
    return len(p_tokens) == len(t_tokens)


def literal_prefix(pattern: str) -> str:
    """The leading literal tokens of a pattern, for narrowing SQL scans with LIKE."""
    out: list[str] = []
    for tok in pattern.split("."):
        if tok in ("*", ">"):
            break
        out.append(tok)
    return ".".join(out)


class _Node(Generic[T]):
    __slots__ = ("children", "rest", "values")

    def __init__(self) -> None:
        self.children: dict[str, _Node[T]] = {}
        self.values: set[T] = set()  # patterns ending exactly here
        self.rest: set[T] = set()  # patterns ending with '>' here


class TopicTrie(Generic[T]):
    """Maps patterns to values; ``match(topic)`` returns every value whose pattern matches."""

    def __init__(self) -> None:
        self._root: _Node[T] = _Node()
        self._cache: dict[str, tuple[T, ...]] = {}

    def add(self, pattern: str, value: T) -> None:
        node = self._root
        tokens = validate_pattern(pattern).split(".")
        for tok in tokens:
            if tok == ">":
                node.rest.add(value)
                break
            node = node.children.setdefault(tok, _Node())
        else:
            node.values.add(value)
        self._cache.clear()

    def remove(self, pattern: str, value: T) -> None:
        self._remove(self._root, pattern.split("."), 0, value)
        self._cache.clear()

    def _remove(self, node: _Node[T], tokens: list[str], i: int, value: T) -> bool:
        """Remove and prune empty branches; returns True when ``node`` became empty."""
        tok = tokens[i] if i < len(tokens) else None
        if tok is None:
            node.values.discard(value)
        elif tok == ">":
            node.rest.discard(value)
        else:
            child = node.children.get(tok)
            if child is not None and self._remove(child, tokens, i + 1, value):
                del node.children[tok]
        return not (node.children or node.values or node.rest)

    def match(self, topic: str) -> tuple[T, ...]:
        hit = self._cache.get(topic)
        if hit is not None:
            return hit
        found: set[T] = set()
        self._collect(self._root, topic.split("."), 0, found)
        result = tuple(found)
        if len(self._cache) >= _CACHE_LIMIT:
            self._cache.clear()
        self._cache[topic] = result
        return result

    def _collect(self, node: _Node[T], tokens: list[str], i: int, found: set[T]) -> None:
        if i == len(tokens):
            found.update(node.values)
            return
        found.update(node.rest)  # '>' needs at least one more token, which we have
        for key in (tokens[i], "*"):
            child = node.children.get(key)
            if child is not None:
                self._collect(child, tokens, i + 1, found)

    def values(self) -> Iterable[T]:
        stack = [self._root]
        while stack:
            node = stack.pop()
            yield from node.values
            yield from node.rest
            stack.extend(node.children.values())
