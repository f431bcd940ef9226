"""The operations an application serves, read from its Tornado route table.

An operation is ``(template, METHOD)``: the route's pattern with named groups
written ``{name}``, an unnamed ``(.*)`` as ``{path}``, a trailing catch-all
``.*`` as ``*``, and the optional trailing slash dropped
(``/api/course/{course_id}``, ``/api/vivere/*``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from tornado import web

from ngshare.context import ServerContext
from ngshare.plugin import HTTP_METHODS

Operation = tuple[str, str]


@dataclass(frozen=True)
class Route:
    """One rule of the application: its template, handler, owner and methods."""

    template: str
    handler: type
    owner: str  # "core" or the name of the feature set (core services count as core)
    methods: tuple[str, ...]


def template_of(pattern: str) -> str:
    """A route's pattern as a readable template (the table's key)."""
    path = re.sub(r"\(\?P<(\w+)>[^)]*\)", r"{\1}", pattern)
    path = path.replace("(.*)", "{path}").removesuffix("$").removesuffix("/?")
    if path.endswith(".*"):
        path = path[:-2] + "*"
    return path


def methods_of(handler: type) -> tuple[str, ...]:
    """The HTTP methods a handler defines itself (as start-up's access check reads them)."""
    return tuple(
        m.upper()
        for m in HTTP_METHODS
        if getattr(handler, m, None) is not None
        and getattr(handler, m) is not getattr(web.RequestHandler, m, None)
    )


def _pattern(spec: tuple) -> str:
    return spec[0] if spec[0].endswith("$") else spec[0] + "$"


def routes_of(app: web.Application, ctx: ServerContext) -> list[Route]:
    """Every rule of ``app`` with the feature set that mounted it."""
    owners: dict[str, str] = {}
    for plugin in ctx.plugins:
        for spec in plugin.routes(ctx.config.prefix, ctx):
            owners[_pattern(spec)] = plugin.name
    out = []
    for rule in app.wildcard_router.rules:
        pattern = rule.matcher.regex.pattern
        out.append(
            Route(
                template=template_of(pattern),
                handler=rule.target,
                owner=owners.get(pattern, "core"),
                methods=methods_of(rule.target),
            )
        )
    return out


def operations_of(routes: list[Route]) -> dict[Operation, Route]:
    return {(r.template, m): r for r in routes for m in r.methods}
