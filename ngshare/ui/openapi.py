"""OpenAPI path items of the core's pages (merged into ``{prefix}openapi.json``).

Pages answer in HTML, errors included, so every response here is ``text/html``.
"""

from __future__ import annotations

from typing import Any

from ngshare.ui.static import static_folders

HTML = {"text/html": {"schema": {"type": "string"}}}


def _page(summary: str, ok: dict, **codes: str) -> dict:
    responses = {**ok, **{code: {"description": d, "content": HTML} for code, d in codes.items()}}
    return {"summary": summary, "tags": ["core"], "responses": responses}


def _form_post(summary: str, what: str) -> dict:
    op = _page(
        summary,
        {"303": {"description": "Done: back to the console, with a notice"}},
        **{
            "403": "Not an admin, or the form's XSRF token is missing or wrong",
            "404": f"No such {what}",
        },
    )
    op["requestBody"] = {
        "content": {
            "application/x-www-form-urlencoded": {
                "schema": {
                    "type": "object",
                    "properties": {"_xsrf": {"type": "string"}},
                    "required": ["_xsrf"],
                }
            }
        }
    }
    return op


def static_paths(prefix: str, owners: list[str]) -> dict[str, dict]:
    """The pages' static files: the core's and each plugin's folder."""
    paths = {}
    for owner in owners:
        paths[prefix + f"static/{owner}/{{path}}"] = {
            method: {
                "summary": f"A static file of {owner!r} (CSS, JavaScript, images); with "
                "?v= (as pages link it) cached for a year, else five minutes.",
                "tags": ["core"],
                "security": [],
                "parameters": [
                    {"name": "path", "in": "path", "required": True, "schema": {"type": "string"}}
                ],
                "responses": {
                    "200": {"description": "The file"},
                    "404": {"description": "No such file"},
                },
            }
            for method in ("get", "head")
        }
    return paths


def openapi_paths(prefix: str, plugins: list[Any]) -> dict[str, dict]:
    """The admin console and its two buttons, and the static files."""
    page_ok = {"200": {"description": "The page", "content": HTML}}
    owners = list(static_folders(plugins).folders)
    return {
        **static_paths(prefix, owners),
        prefix + "ui/admin": {
            "get": _page(
                "Admin console: plugins, jobs, live channels, notification outbox, sizes, "
                "version and uptime (admins; a browser page).",
                page_ok,
                **{
                    "302": "Not signed in: to the hub's login page (behind a hub)",
                    "403": "Not an admin",
                },
            )
        },
        prefix + "ui/admin/jobs/{job_id}/run": {
            "post": {
                **_form_post("Run a job now (admin console form).", "job"),
                "parameters": [
                    {"name": "job_id", "in": "path", "required": True, "schema": {"type": "string"}}
                ],
            }
        },
        prefix + "ui/admin/notifications/{message_id}/retry": {
            "post": {
                **_form_post(
                    "Send a failed notification again (admin console form); 409 if it has "
                    "not failed.",
                    "message",
                ),
                "parameters": [
                    {
                        "name": "message_id",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "integer"},
                    }
                ],
            }
        },
    }
