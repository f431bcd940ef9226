"""The scheduler's routes in the server's OpenAPI document (``service.openapi``)."""

from __future__ import annotations

from ngshare.scheduler.core import ERR_JOB_NOT_FOUND, ERR_JOB_RUNNING, ERR_NOT_ADMIN


def openapi_paths() -> dict[str, dict]:
    """The scheduler's routes, for the server's OpenAPI document."""
    prefix = "/"
    time_or_null = {"type": ["string", "null"], "format": "date-time"}
    job = {
        "type": "object",
        "properties": {
            "id": {"type": "string", "description": "<plugin>.<verb>_<object>[:<key>]"},
            "declared": {"type": "boolean", "description": "Declared by a plugin (periodic)."},
            "trigger": {"enum": ["interval", "cron", "date", None]},
            "schedule": {"type": ["string", "null"]},
            "func": {"type": ["string", "null"], "description": "module:function"},
            "next_run_at": time_or_null,
            "last_run_at": time_or_null,
            "last_duration_seconds": {"type": ["number", "null"]},
            "last_success": {"type": ["boolean", "null"]},
            "last_error": {"type": ["string", "null"], "description": "Message, no traceback."},
            "run_count": {"type": "integer"},
            "running": {"type": "boolean"},
            "last_replica": {
                "type": ["string", "null"],
                "description": "c.NgShare.replica_id of the server that ran the last run.",
            },
        },
    }

    def ok(field_name: str, schema: dict) -> dict:
        body = {"type": "object", "properties": {"success": {"const": True}, field_name: schema}}
        return {"description": "OK", "content": {"application/json": {"schema": body}}}

    denied = {
        "401": {"description": "Not authenticated"},
        "403": {"description": ERR_NOT_ADMIN},
    }
    return {
        prefix + "jobs": {
            "get": {
                "summary": "Scheduled jobs with their last and next run (admins).",
                "tags": ["core"],
                "responses": {"200": ok("jobs", {"type": "array", "items": job}), **denied},
            }
        },
        prefix + "jobs/{job_id}/run": {
            "post": {
                "summary": "Run a job now and wait for it; its outcome is in the record (admins).",
                "tags": ["core"],
                "parameters": [
                    {"name": "job_id", "in": "path", "required": True, "schema": {"type": "string"}}
                ],
                "responses": {
                    "200": ok("job", job),
                    **denied,
                    "404": {"description": ERR_JOB_NOT_FOUND},
                    "409": {"description": ERR_JOB_RUNNING},
                },
            }
        },
    }
