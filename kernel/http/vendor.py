"""Front-end packages served from this machine, never from a CDN: `/static/vendor/<package>/…`.

The packages are the `dependencies` of the repository's `package.json`, installed into
`node_modules/` by `scripts/setup` (`npm ci`, from the committed lockfile). Only those
packages are reachable, each below its own folder; a package that is declared but not
installed is logged once at start-up and answers 404, so the server still runs.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from litestar import Router
from litestar.datastructures import CacheControlHeader
from litestar.static_files import create_static_files_router

log = logging.getLogger(__name__)

VENDOR_PREFIX = "/static/vendor"
PROJECT_ROOT = Path(__file__).resolve().parents[2]


def vendor_url(package: str, file: str) -> str:
    """The URL of `file` inside the installed npm `package` (`swagger-ui-dist`, `htmx.org`)."""
    return f"{VENDOR_PREFIX}/{package}/{file}"


def declared_packages(root: Path = PROJECT_ROOT) -> list[str]:
    """The npm packages `package.json` declares, or none when there is no such file."""
    manifest = root / "package.json"
    if not manifest.is_file():
        return []
    return sorted(json.loads(manifest.read_text(encoding="utf-8")).get("dependencies", {}))


def vendor_routers(root: Path = PROJECT_ROOT) -> list[Router]:
    """One static-files router per installed package, cached by browsers for a day."""
    routers = []
    for package in declared_packages(root):
        folder = root / "node_modules" / package
        if not folder.is_dir():
            log.warning(
                "front-end package %s is declared in package.json but not installed: "
                "run scripts/setup (npm ci) to serve it",
                package,
            )
            continue
        routers.append(
            create_static_files_router(
                path=vendor_url(package, "").rstrip("/"),
                directories=[folder],
                name=f"vendor:{package}",
                cache_control=CacheControlHeader(max_age=86400, public=True),
            )
        )
    return routers
