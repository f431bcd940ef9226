"""One OpenAPI 3.1 document for the whole server, merged from every feature set.

Each feature set gives its path items relative to its mount
(:attr:`Plugin.openapi`); the core services' paths are tagged ``core``. The
document is served at ``{prefix}openapi.json`` and browsed with Swagger UI 5
(the static files of the ``swagger-ui-py`` package, served by ngshare: no CDN)
at ``{prefix}docs``. Swagger UI reads OpenAPI 3.1 from version 5 on.
"""

from __future__ import annotations

import json
import re
from http import HTTPStatus
from pathlib import Path
from typing import TYPE_CHECKING, Any

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
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
ERROR_CONTENT = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
HTML_CONTENT = {"text/html": {"schema": {"type": "string"}}}
HEALTH_SCHEMA = {
    "type": "object",
    "properties": {
        "success": {"type": "boolean"},
        "database": {
            "type": "object",
            "properties": {
                "reachable": {"type": "boolean"},
                "checked_seconds_ago": {"type": "number"},
                "error": {"type": "string"},
            },
            "required": ["reachable"],
        },
    },
    "required": ["success", "database"],
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


def _json_ok(schema: dict | None = None) -> dict:
    schema = schema or {"$ref": "#/components/schemas/Success"}
    return {"description": "OK", "content": {"application/json": {"schema": schema}}}


def core_paths(prefix: str, with_oauth: bool = False) -> dict[str, dict]:
    """The core's own routes; the OAuth callback only where it is mounted (behind a hub)."""

    def get(summary: str, ok: dict, public_: bool = True, **more: dict) -> dict:
        op = {"summary": summary, "tags": ["core"], "responses": {"200": ok, **more}}
        if public_:
            op["security"] = []
        return {"get": op}

    html_ok = {"description": "An HTML page", "content": HTML_CONTENT}
    health = _json_ok(HEALTH_SCHEMA)
    paths = {
        "/healthz": get(
            "Liveness: 200 while the server answers; reports whether the database is reachable.",
            health,
        ),
        prefix + "healthz": get(
            "Readiness: 200 while the database is reachable, else 503 (checked at most "
            "every 2 s, in the background).",
            health,
            **{
                "503": {
                    "description": "The database cannot be reached",
                    "content": {"application/json": {"schema": HEALTH_SCHEMA}},
                }
            },
        ),
        prefix + "metrics": get(
            "Prometheus metrics (admins, or `Authorization: Bearer <c.NgShare.metrics_token>`).",
            {
                "description": "The Prometheus text exposition format",
                "content": {"text/plain": {"schema": {"type": "string"}}},
            },
            False,
            **{"403": {"description": "Not an admin", "content": ERROR_CONTENT}},
        ),
        prefix: get(
            "Who you are, with links to the docs, the plugins and the admin views "
            "(browser page; signs in through the hub).",
            html_ok,
            False,
            **{
                "302": {"description": "Not signed in: to the hub's login page (behind a hub)"},
                "401": {
                    "description": "Not signed in (no hub to send you to)",
                    "content": ERROR_CONTENT,
                },
            },
        ),
        prefix + "openapi.json": get(
            "This document.", {"description": "OpenAPI 3.1", "content": {"application/json": {}}}
        ),
        prefix + "docs": get("Swagger UI for this document.", html_ok),
        prefix + "plugins": get(
            "Loaded plugins: version, mount, tables, jobs, channels (admins).",
            _json_ok(
                {
                    "type": "object",
                    "properties": {"success": {"const": True}, "plugins": {"type": "array"}},
                }
            ),
            False,
            **{"403": {"description": "Not an admin", "content": ERROR_CONTENT}},
        ),
    }
    if with_oauth:
        paths[prefix + "oauth_callback"] = {
            "get": {
                "summary": "OAuth callback from JupyterHub (browsers): sets the login cookie.",
                "tags": ["core"],
                "security": [],
                "responses": {
                    "302": {"description": "Signed in: back to the page that asked"},
                    "400": {"description": "A malformed callback", "content": ERROR_CONTENT},
                    "403": {
                        "description": "A callback this browser did not start (OAuth state)",
                        "content": ERROR_CONTENT,
                    },
                    "502": {"description": "The hub did not answer", "content": ERROR_CONTENT},
                },
            }
        }
    return paths


def limits(ctx: ServerContext) -> dict:
    """The limits every route applies, as this server is configured (``x-ngshare-limits``)."""
    from ngshare.forms import MAX_FIELDS

    return {
        "max_body_bytes": ctx.config.max_body_bytes,
        "max_fields": MAX_FIELDS,
    }


def complete_responses(spec: dict, ctx: ServerContext) -> None:
    """Add the answers the core gives on every route, so the document lists all of them.

    Every operation may answer 400 (a query string or form body of more than
    ``max_fields`` fields, a malformed form body or ``Content-Length``); one
    with a body 413 (over ``max_body_bytes``); one that needs a caller 401,
    and behind a hub 503 when the hub cannot be asked. These errors are in the
    operation's feature set's envelope, so the content of the operation's own
    error answers is reused.
    """
    lim = limits(ctx)
    hub = ctx.config.identity_kind == "hub"
    general = {
        "400": f"A query string or form body of more than {lim['max_fields']} fields, "
        "a malformed form body or Content-Length",
        "413": f"A request body over {lim['max_body_bytes']} bytes (c.NgShare.max_body_bytes)",
        "401": "Not authenticated",
        "503": "The hub could not be asked who the caller is",
    }
    for item in spec["paths"].values():
        for method, op in item.items():
            if method not in HTTP_METHODS or not isinstance(op, dict):
                continue
            responses = op.setdefault("responses", {})
            content = _error_content(responses)
            secured = op.get("security", spec["security"]) != []
            wanted = ["400"]
            if "requestBody" in op:
                wanted.append("413")
            if secured:
                wanted.append("401")
                if hub:
                    wanted.append("503")
            for code in wanted:
                responses.setdefault(code, {"description": general[code]})
            for code, response in responses.items():
                if code[:1] in "45" and "content" not in response:  # errors are JSON
                    responses[code] = {**response, "content": content}


def _error_content(responses: dict) -> dict:
    """The content of an operation's JSON error answers (its feature set's envelope)."""
    for code, response in responses.items():
        if code[:1] == "4" and "application/json" in response.get("content", {}):
            return response["content"]
    return ERROR_CONTENT


def build_spec(ctx: ServerContext, plugins: list[Plugin]) -> dict:
    prefix = ctx.config.prefix
    from ngshare.ui.openapi import openapi_paths as page_paths

    paths = core_paths(prefix, with_oauth=ctx.identity.hub_auth is not None)
    paths.update(page_paths(prefix, plugins))
    tags = [{"name": "core", "description": "The server itself."}]
    for service in ctx.services:
        paths.update(_mounted_paths(prefix, service, "core"))
    for plugin in plugins:
        tags.append({"name": plugin.name, "description": plugin.description})
        paths.update(_mounted_paths(prefix, plugin, plugin.name))
    lim = limits(ctx)
    spec = {
        "openapi": "3.1.0",
        "info": {
            "title": "ngshare",
            "version": __version__,
            "description": (
                f"Limits on every route: a request body of at most {lim['max_body_bytes']} "
                "bytes (`c.NgShare.max_body_bytes`; larger ones get a 413 before they are "
                f"read), at most {lim['max_fields']} fields in a query string and in a form "
                "body (400). Errors are JSON in the feature set's envelope."
            ),
        },
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
        "x-ngshare-limits": lim,
    }
    complete_responses(spec, ctx)
    return spec


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
<script>window.ui = SwaggerUIBundle({{
  url: {spec_url}, dom_id: "#swagger-ui", deepLinking: true
}});</script>
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


class SwaggerStaticHandler(web.StaticFileHandler):
    """Swagger UI's files; a missing one is a JSON 404, as every error under the prefix."""

    def set_default_headers(self) -> None:
        self.clear_header("Server")

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        self.set_header("Content-Type", "application/json; charset=UTF-8")
        try:
            message = HTTPStatus(status_code).phrase
        except ValueError:
            message = "Error"
        self.finish(json.dumps({"success": False, "message": message}))


def swagger_ui_static_path() -> Path:
    """The Swagger UI 5 files that ``swagger-ui-py`` ships (swagger-ui-bundle.js and friends)."""
    import swagger_ui

    return Path(swagger_ui.__file__).parent / "static"


def routes(ctx: ServerContext, spec: dict) -> list[tuple]:
    prefix = ctx.config.prefix
    static = str(swagger_ui_static_path())
    return [
        (prefix + "openapi.json", OpenAPIHandler, {"ctx": ctx, "spec": spec}),
        (prefix + "docs/?", SwaggerUIHandler, {"ctx": ctx}),
        (prefix + "docs/static/(.*)", SwaggerStaticHandler, {"path": static}),
    ]
