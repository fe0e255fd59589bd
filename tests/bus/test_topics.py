"""Topic trie: NATS wildcard semantics and cache invalidation."""

from __future__ import annotations

import pytest

from mindframe.kernel.bus.topics import TopicTrie, matches, validate_pattern, validate_topic


@pytest.mark.parametrize(
    ("pattern", "topic", "expected"),
    [
        ("a.b.c", "a.b.c", True),
        ("a.*.c", "a.x.c", True),
        ("a.*", "a.b.c", False),
        ("a.>", "a.b.c", True),
        ("a.>", "a", False),
        (">", "a", True),
        ("*.b", "a.b", True),
        ("a.b", "a.b.c", False),
        ("a.b.c", "a.b", False),
    ],
)
def test_wildcards(pattern: str, topic: str, expected: bool) -> None:
    trie: TopicTrie[str] = TopicTrie()
    trie.add(pattern, "s")
    assert (trie.match(topic) == ("s",)) is expected
    assert matches(pattern, topic) is expected


def test_trie_returns_every_match_and_forgets_removed() -> None:
    trie: TopicTrie[str] = TopicTrie()
    for name, pattern in [("exact", "a.b"), ("star", "a.*"), ("rest", "a.>"), ("other", "x.>")]:
        trie.add(pattern, name)
    assert set(trie.match("a.b")) == {"exact", "star", "rest"}
    trie.remove("a.*", "star")  # also clears the cached answer for a.b
    assert set(trie.match("a.b")) == {"exact", "rest"}
    trie.add("*.b", "late")
    assert set(trie.match("a.b")) == {"exact", "rest", "late"}


@pytest.mark.parametrize("bad", ["", "a..b", "a.>.b", "a.b*", "a b"])
def test_invalid_patterns_rejected(bad: str) -> None:
    with pytest.raises(ValueError):
        validate_pattern(bad)


@pytest.mark.parametrize("bad", ["a.*", "a.>", "", "a..b"])
def test_invalid_topics_rejected(bad: str) -> None:
    with pytest.raises(ValueError):
        validate_topic(bad)
