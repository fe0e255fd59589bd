"""`/errors/demo/`: a page whose small React app reports its errors to a project of this
runtime through `@sentry/browser`, one caught by `@sentry/react`'s ErrorBoundary and one
uncaught, so browser errors and source maps can be tried (and are tested) end to end.

The app (`browser_demo/src/`) is bundled, minified with a source map, by `npm run build`
into `browser_demo/build/` (scripts/setup runs it); this page serves those two files. The
project is named by its DSN, `?dsn=…` (it must point at an intake of this plugin); the
release defaults to one derived from the bundle's content, so uploading the bundle and its
map for `demo_release()` makes its frames map back to `src/`.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Annotated, Any

from litestar import MediaType, Request, Response, get
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, QueryParameter
from litestar.response import File

from mindframe.sdk.i18n import N_

from .page_templates import render
from .service import ErrorTracker

BUILD = Path(__file__).parent / "browser_demo" / "build"
BUILT_FILES = {"app.js": "text/javascript", "app.js.map": "application/json"}
_DSN = re.compile(r"^https?://[0-9a-f]{32}@[^/?#\s]+/api/errors/[0-9]+$")

LABELS = {
    "stock": N_("In stock: {count}"),
    "breakRender": N_("Break the shelf (the error boundary catches it)"),
    "breakClick": N_("Ship an empty order (nobody catches it)"),
    "caught": N_("The shelf broke; the error was reported."),
    "reset": N_("Try again"),
}


def demo_release() -> str | None:
    """The release the built bundle reports by default: one per distinct build."""
    bundle = BUILD / "app.js"
    if not bundle.is_file():
        return None
    return f"errors-demo@{hashlib.sha256(bundle.read_bytes()).hexdigest()[:12]}"


@get("/demo/", summary="Browser errors, with source maps", include_in_schema=False)
async def demo_page(
    request: Request,
    error_tracker: NamedDependency[ErrorTracker],
    dsn: Annotated[str | None, QueryParameter(max_length=300)] = None,
    release: Annotated[str | None, QueryParameter(max_length=200)] = None,
) -> Response[str]:
    ctx = error_tracker.ctx
    built = demo_release()
    config: dict[str, Any] = {
        "dsn": dsn if dsn and _DSN.match(dsn) else None,
        "release": release or built,
        "labels": {key: ctx.gettext(text) for key, text in LABELS.items()},
    }
    body = render(
        ctx,
        request,
        "demo.html",
        config=config,
        built=built is not None,
        dsn_refused=bool(dsn) and config["dsn"] is None,
    )
    return Response(body, media_type=MediaType.HTML, status_code=200 if built else 503)


@get("/demo/static/{name:str}", summary="The demo's bundle and source map", include_in_schema=False)
async def demo_file(name: FromPath[str]) -> File:
    path = BUILD / name
    if name not in BUILT_FILES or not path.is_file():
        raise NotFoundException()
    return File(path, content_disposition_type="inline", media_type=BUILT_FILES[name])


DEMO_PAGES = [demo_page, demo_file]
