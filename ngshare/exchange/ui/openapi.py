"""OpenAPI description of the exchange's web pages (HTML answers, HTML refusals)."""

from __future__ import annotations

from ngshare.exchange.openapi import _path_params

HTML = {"text/html": {"schema": {"type": "string"}}}
REFUSALS = {
    "400": "An unknown format, sort, order or status, or a search over 200 characters",
    "401": "Not signed in (behind JupyterHub: sent to the hub's login instead)",
    "403": "Not allowed (a student asking for an instructor page or another student's row)",
    "404": "Course, assignment, student or submission not found",
}


def _page(summary: str, who: str, query: dict[str, str], extra: dict | None = None) -> dict:
    ok = HTML | (extra or {})
    return {
        "summary": summary,
        "description": f"Who: {who}. An HTML page; refusals are HTML pages too.",
        "parameters": [
            {"name": n, "in": "query", "required": False, "schema": {"type": "string"}}
            | {"description": d}
            for n, d in query.items()
        ],
        "responses": {
            "200": {"description": "the page, or the download the format asks for", "content": ok},
            **{code: {"description": text, "content": HTML} for code, text in REFUSALS.items()},
        },
    }


CSV = {"text/csv": {"schema": {"type": "string"}}}
ZIP = {"application/zip": {"schema": {"type": "string", "contentMediaType": "application/zip"}}}
TABLE_QUERY = {
    "format": "html (default), csv (the table) or zip (every student's latest submission)",
    "sort": "student, name, fetched, submissions, latest or feedback",
    "order": "asc or desc",
    "status": "all, fetched, not-fetched, submitted, not-submitted, feedback or no-feedback",
    "q": "text the username, names or email must contain",
}

PATHS = {
    "/ui": {
        "get": _page("My courses (admins: every course)", "signed-in users", {}),
    },
    "/ui/{course_id}": {
        "parameters": _path_params("course_id"),
        "get": _page(
            "A course: roster and assignments (instructors); a student's own work",
            "course members; format=csv (the roster) instructors only",
            {"format": "html (default) or csv"},
            CSV,
        ),
    },
    "/ui/{course_id}/{assignment_id}": {
        "parameters": _path_params("course_id", "assignment_id"),
        "get": _page(
            "An assignment: students x fetched, submissions, latest, feedback",
            "instructors",
            TABLE_QUERY,
            CSV | ZIP,
        ),
    },
    "/ui/{course_id}/{assignment_id}/{student_id}": {
        "parameters": _path_params("course_id", "assignment_id", "student_id"),
        "get": _page(
            "One student's submissions of an assignment",
            "instructors; the student",
            {
                "format": "html (default) or zip (one submission's files)",
                "timestamp": "with format=zip: which submission (default: the latest)",
            },
            ZIP,
        ),
    },
    "/ui/admin/trash": {
        "get": _page("Deleted courses and assignments still restorable", "admins", {}),
        "post": {
            **_page("Restore a deleted course or assignment", "admins (XSRF-checked form)", {}),
            "responses": {
                "303": {"description": "restored: back to the trash page"},
                **{c: {"description": t, "content": HTML} for c, t in REFUSALS.items()},
                "409": {"description": "a live one has its name now", "content": HTML},
            },
            "requestBody": {
                "content": {
                    "application/x-www-form-urlencoded": {
                        "schema": {
                            "type": "object",
                            "required": ["kind", "id", "_xsrf"],
                            "properties": {
                                "kind": {"enum": ["course", "assignment"]},
                                "id": {"type": "string", "pattern": "^[0-9]+$"},
                                "_xsrf": {"type": "string"},
                            },
                        }
                    }
                }
            },
        },
    },
}
