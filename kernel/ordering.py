"""Dependency order: which plugins may start, and in what order.

Problems are returned, not raised: a missing requirement, a version mismatch or a
cycle fails the plugins concerned and no others.
"""

from __future__ import annotations

from collections.abc import Iterable
from graphlib import CycleError, TopologicalSorter

from packaging.utils import canonicalize_name
from packaging.version import Version

from .manifest import Manifest


def _key(name: str) -> str:
    return canonicalize_name(name)


def requirement_problems(manifest: Manifest, available: dict[str, Manifest]) -> list[str]:
    """Why `manifest`'s requirements are not met by the `available` plugins (by name)."""
    by_key = {_key(name): other for name, other in available.items()}
    problems = []
    for requirement in manifest.requirements:
        other = by_key.get(_key(requirement.name))
        if other is None:
            problems.append(f"requires '{requirement}', which is not installed")
        elif requirement.specifier and not requirement.specifier.contains(
            Version(other.version), prereleases=True
        ):
            problems.append(
                f"requires '{requirement}', but {other.name} {other.version} is installed"
            )
    return problems


def start_order(manifests: Iterable[Manifest]) -> tuple[list[str], dict[str, str]]:
    """Names in an order where every plugin comes after what it requires, and the
    plugins caught in a cycle with the cycle described."""
    manifests = list(manifests)
    known = {_key(m.name): m.name for m in manifests}
    graph = {
        m.name: {known[_key(r.name)] for r in m.requirements if _key(r.name) in known}
        for m in manifests
    }
    in_cycle: dict[str, str] = {}
    while True:
        try:
            order = list(TopologicalSorter(graph).static_order())
            return order, in_cycle
        except CycleError as error:
            cycle: list[str] = error.args[1]
            description = "dependency cycle: " + " -> ".join(reversed(cycle))
            for name in set(cycle):
                in_cycle[name] = description
                graph.pop(name, None)
            for requirements in graph.values():
                requirements.difference_update(cycle)


def with_requirements(wanted: Iterable[str], manifests: dict[str, Manifest]) -> set[str]:
    """`wanted` plus everything it needs, transitively (for booting a subset in tests)."""
    by_key = {_key(name): name for name in manifests}
    selected: set[str] = set()
    stack = [by_key.get(_key(name), name) for name in wanted]
    while stack:
        name = stack.pop()
        if name in selected:
            continue
        selected.add(name)
        manifest = manifests.get(name)
        if manifest is not None:
            stack.extend(
                by_key[_key(r.name)] for r in manifest.requirements if _key(r.name) in by_key
            )
    return selected


def dependents_of(name: str, manifests: dict[str, Manifest]) -> list[str]:
    """Plugins that require `name`, directly or not, in start order."""
    found: set[str] = set()
    frontier = {_key(name)}
    while frontier:
        nxt = {
            other.name
            for other in manifests.values()
            if other.name not in found and any(_key(r.name) in frontier for r in other.requirements)
        }
        found |= nxt
        frontier = {_key(n) for n in nxt}
    order, _ = start_order(manifests[n] for n in found)
    return order
