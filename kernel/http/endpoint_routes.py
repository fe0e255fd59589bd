"""The lean HTTP endpoints plugins declare (`ctx.endpoint`), found by path for the dispatcher.

Finding costs any other request one dict lookup of its exact path (every path without
parameters is there with and without its trailing slash) and one of its plugin's name among
the plugins that declared templated paths; only those plugins' paths are matched against
patterns.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

ErrorReporter = Callable[..., None]
Handler = Callable[[Any], Any]
AnswerHeaders = Callable[[Any], Mapping[str, str]]
DEFAULT_MAX_BODY = 10_000_000
"""Bytes a request body may have unless the endpoint says otherwise (Litestar's default,
which every plugin's Litestar routes get)."""
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
_SEGMENT = re.compile(r"\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?::(?P<kind>int|str))?\}")
_PATTERNS = {"int": "-?[0-9]+", "str": "[^/]+"}
_CONVERTERS: dict[str, Callable[[str], Any]] = {"int": int, "str": str}


@dataclass(eq=False, slots=True)
class Endpoint:
    """One declaration: `handler` serves `methods` on `path` for this version of `plugin`."""

    plugin: str
    methods: tuple[str, ...]
    path: str
    handler: Handler
    max_body: int
    report: ErrorReporter
    openapi: Mapping[str, Any] | None = None
    answer_headers: AnswerHeaders | None = None


@dataclass(eq=False)
class EndpointPath:
    """One path a plugin serves (`/api/<plugin>/…`, parameters written `{name:int}`), and the
    endpoint serving each of its methods."""

    plugin: str
    template: str
    pattern: re.Pattern[str] | None
    converters: dict[str, Callable[[str], Any]]
    by_method: dict[str, Endpoint] = field(default_factory=dict)

    def match(self, path: str) -> dict[str, Any] | None:
        """The path's parameters, converted, if `path` is this one; else None."""
        assert self.pattern is not None
        found = self.pattern.fullmatch(path)
        if found is None:
            return None
        return {name: self.converters[name](value) for name, value in found.groupdict().items()}

    @property
    def allow(self) -> str:
        return ", ".join(sorted(self.by_method))


class EndpointRegistry:
    """Every declared endpoint path; `on_change` is told when one comes or goes (the merged
    OpenAPI document is then stale)."""

    def __init__(self, on_change: Callable[[], None] | None = None) -> None:
        self.on_change = on_change
        self.paths: dict[str, EndpointPath] = {}  # by template
        self.exact: dict[str, EndpointPath] = {}
        self.templated: dict[str, list[EndpointPath]] = {}  # by plugin

    def find(self, plugin: str, path: str) -> tuple[EndpointPath, dict[str, Any]] | None:
        """The endpoint path serving `path` (of `plugin`) and its parameters."""
        exact = self.exact.get(path)
        if exact is not None:
            return exact, {}
        for candidate in self.templated.get(plugin, ()):
            params = candidate.match(path)
            if params is not None:
                return candidate, params
        return None

    def of(self, plugin: str) -> list[EndpointPath]:
        return [p for p in self.paths.values() if p.plugin == plugin]

    def declare(
        self,
        plugin: str,
        methods: Iterable[str],
        path: str,
        handler: Handler,
        *,
        report: ErrorReporter,
        max_body: int | None = None,
        openapi: Mapping[str, Any] | None = None,
        answer_headers: AnswerHeaders | None = None,
    ) -> Endpoint:
        """Serve `methods` on `/api/<plugin><path>` with `handler`."""
        if not path.startswith("/"):
            raise ValueError(f"endpoint path {path!r} must start with '/'")
        listed = [methods] if isinstance(methods, str) else list(methods)
        wanted = tuple(dict.fromkeys(m.upper() for m in listed))
        unknown = [m for m in wanted if m not in METHODS]
        if unknown or not wanted:
            raise ValueError(f"endpoint methods {listed!r}: use some of {sorted(METHODS)}")
        template = f"/api/{plugin}{path}".rstrip("/")
        served = self.paths.get(template) or self._add_path(plugin, template)
        taken = [m for m in wanted if m in served.by_method]
        if taken:
            raise ValueError(f"plugin '{plugin}' already serves {', '.join(taken)} {template}")
        limit = DEFAULT_MAX_BODY if max_body is None else max_body
        endpoint = Endpoint(
            plugin, wanted, template, handler, limit, report, openapi, answer_headers
        )
        for method in wanted:
            served.by_method[method] = endpoint
        self._changed()
        return endpoint

    def withdraw(self, endpoint: Endpoint) -> None:
        """The version that declared `endpoint` is stopping: its methods are no longer served
        (a request held by a reload finds the next version's declaration, if any)."""
        served = self.paths.get(endpoint.path)
        if served is None:
            return
        for method in endpoint.methods:
            if served.by_method.get(method) is endpoint:
                del served.by_method[method]
        if not served.by_method:
            self._remove_path(served)
        self._changed()

    def _add_path(self, plugin: str, template: str) -> EndpointPath:
        pattern, converters = compile_template(template)
        served = EndpointPath(plugin, template, pattern, converters)
        self.paths[template] = served
        if pattern is None:
            self.exact[template] = self.exact[template + "/"] = served
        else:
            self.templated.setdefault(plugin, []).append(served)
        return served

    def _remove_path(self, served: EndpointPath) -> None:
        del self.paths[served.template]
        if served.pattern is None:
            self.exact.pop(served.template, None)
            self.exact.pop(served.template + "/", None)
            return
        remaining = [p for p in self.templated.get(served.plugin, []) if p is not served]
        if remaining:
            self.templated[served.plugin] = remaining
        else:
            self.templated.pop(served.plugin, None)

    def _changed(self) -> None:
        if self.on_change is not None:
            self.on_change()


def compile_template(
    template: str,
) -> tuple[re.Pattern[str] | None, dict[str, Callable[[str], Any]]]:
    """A pattern matching `template` with or without a trailing slash, and a converter per
    parameter; (None, {}) for a path without parameters."""
    if any(brace in _SEGMENT.sub("", template) for brace in "{}"):
        raise ValueError(f"endpoint path {template!r}: write parameters {{name}} or {{name:int}}")
    parts: list[str] = []
    converters: dict[str, Callable[[str], Any]] = {}
    at = 0
    for found in _SEGMENT.finditer(template):
        name, kind = found["name"], found["kind"] or "str"
        before, after = template[found.start() - 1], template[found.end() : found.end() + 1]
        if before != "/" or after not in ("", "/"):
            raise ValueError(f"a parameter is a whole path segment: {found[0]!r} in {template}")
        if name in converters:
            raise ValueError(f"parameter {name!r} appears twice in {template}")
        parts += [re.escape(template[at : found.start()]), f"(?P<{name}>{_PATTERNS[kind]})"]
        converters[name] = _CONVERTERS[kind]
        at = found.end()
    if not converters:
        return None, {}
    parts.append(re.escape(template[at:]))
    return re.compile("".join(parts) + "/?"), converters


def openapi_path(template: str) -> str:
    """`/api/p/{id:int}` as OpenAPI writes it: `/api/p/{id}`."""
    return _SEGMENT.sub(lambda found: "{" + found["name"] + "}", template)
