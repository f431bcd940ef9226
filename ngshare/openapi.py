"""One OpenAPI 3.1 document for the whole server, merged from every feature set.

Each feature set gives its path items relative to its mount
(:attr:`Plugin.openapi`); the core services' paths are tagged ``core``. The
document is served at ``{prefix}openapi.json`` and browsed with Swagger UI
(from the ``swagger-ui-bundle`` package) at ``{prefix}docs``.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING

from tornado import web

from ngshare import __version__
from ngshare.web import APIHandler, public

if TYPE_CHECKING:
    from ngshare.context import ServerContext
    from ngshare.plugin import Plugin

ENVELOPE_OK = {"type": "object", "properties": {"success": {"const": True}}}
ENVELOPE_ERROR = {
    "type": "object",
    "properties": {"success": {"const": False}, "message": {"type": "string"}},
}


def _mounted_paths(prefix: str, feature_set: Plugin, tag: str) -> dict[str, dict]:
    """A feature set's path items under its mount, operations tagged ``tag`` unless they say."""
    paths = {}
    for path, item in feature_set.openapi.items():
        paths[prefix + feature_set.mount + path.lstrip("/")] = {
            method: {"tags": [tag], **op} if isinstance(op, dict) else op
            for method, op in item.items()
        }
    return paths


def core_paths(prefix: str) -> dict[str, dict]:
    def get(summary: str, public_: bool = True) -> dict:
        op = {"summary": summary, "tags": ["core"], "responses": {"200": {"description": "OK"}}}
        if public_:
            op["security"] = []
        return {"get": op}

    return {
        "/healthz": get("Health check (no authentication)."),
        prefix + "healthz": get("Health check under the prefix."),
        prefix: get("Who you are (browser page; signs in through the hub).", False),
        prefix + "openapi.json": get("This document."),
        prefix + "docs": get("Swagger UI for this document."),
        prefix + "plugins": get(
            "Loaded plugins: version, mount, tables, jobs, channels (admins).", False
        ),
        prefix + "oauth_callback": get("OAuth callback from JupyterHub (browsers)."),
    }


def build_spec(ctx: ServerContext, plugins: list[Plugin]) -> dict:
    prefix = ctx.config.prefix
    paths = core_paths(prefix)
    tags = [{"name": "core", "description": "The server itself."}]
    for service in ctx.services:
        paths.update(_mounted_paths(prefix, service, "core"))
    for plugin in plugins:
        tags.append({"name": plugin.name, "description": plugin.description})
        paths.update(_mounted_paths(prefix, plugin, plugin.name))
    return {
        "openapi": "3.1.0",
        "info": {"title": "ngshare", "version": __version__},
        "servers": [{"url": "/"}],
        "tags": tags,
        "paths": dict(sorted(paths.items())),
        "components": {
            "securitySchemes": {
                "token": {
                    "type": "apiKey",
                    "in": "header",
                    "name": "Authorization",
                    "description": "`token <JupyterHub or ngshare token>` or `Bearer <token>`",
                }
            },
            "schemas": {"Success": ENVELOPE_OK, "Error": ENVELOPE_ERROR},
        },
        "security": [{"token": []}],
    }


def route_template(pattern: str) -> str:
    """The OpenAPI path of a Tornado route: named groups become ``{name}``."""
    path = re.sub(r"\(\?P<(\w+)>[^)]*\)", r"{\1}", pattern)
    path = path.removesuffix("$")
    return path.removesuffix("/?")


class OpenAPIHandler(APIHandler):
    """``{prefix}openapi.json``: the merged OpenAPI document."""

    def initialize(self, ctx: ServerContext, spec: dict) -> None:  # type: ignore[override]
        super().initialize(ctx)
        self.spec = spec

    @public
    async def get(self) -> None:
        self.write_json(self.spec)


SWAGGER_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>ngshare API</title>
<link rel="stylesheet" href="{static}swagger-ui.css"></head>
<body><div id="swagger-ui"></div>
<script src="{static}swagger-ui-bundle.js"></script>
<script>window.ui = SwaggerUIBundle({{url: {spec_url}, dom_id: "#swagger-ui"}});</script>
</body></html>"""


class SwaggerUIHandler(APIHandler):
    """``{prefix}docs``: Swagger UI over ``openapi.json`` (a packaged UI, not vendored)."""

    @public
    async def get(self) -> None:
        prefix = self.ctx.config.prefix
        self.set_header("Content-Type", "text/html; charset=UTF-8")
        self.finish(
            SWAGGER_PAGE.format(
                static=prefix + "docs/static/", spec_url=json.dumps(prefix + "openapi.json")
            )
        )


def routes(ctx: ServerContext, spec: dict) -> list[tuple]:
    from swagger_ui_bundle import swagger_ui_path

    prefix = ctx.config.prefix
    return [
        (prefix + "openapi.json", OpenAPIHandler, {"ctx": ctx, "spec": spec}),
        (prefix + "docs/?", SwaggerUIHandler, {"ctx": ctx}),
        (prefix + "docs/static/(.*)", web.StaticFileHandler, {"path": str(swagger_ui_path)}),
    ]
