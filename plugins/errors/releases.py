"""Whether an event's release comes after the one an issue was resolved in (a regression).

Releases are compared as versions when both read as one (`app@1.10.0` > `app@1.9.2`);
otherwise a release other than the resolved one counts as later, since it is being seen
after the resolution.
"""

from __future__ import annotations

from functools import lru_cache

from packaging.version import InvalidVersion, Version


def is_later(release: str | None, resolved_in: str | None) -> bool:
    """Whether an event of `release` reopens an issue resolved in `resolved_in` (None: the
    issue was resolved with no release known, so any new event reopens it)."""
    if resolved_in is None:
        return True
    if release is None or release == resolved_in:
        return False
    new, old = _version(release), _version(resolved_in)
    if new is not None and old is not None:
        return new > old
    return True


@lru_cache(maxsize=1024)
def _version(release: str) -> Version | None:
    _, _, version = release.rpartition("@")
    try:
        return Version(version)
    except InvalidVersion:
        return None
