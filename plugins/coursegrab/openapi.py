"""CourseGrab's routes for the server's OpenAPI document (paths relative to the mount)."""

from __future__ import annotations

from typing import Any

from ngshare_coursegrab import errors
from ngshare_coursegrab.models import MAX_DEVICE_TOKEN, NOTIFIABLE, NOTIFICATION_CHOICES

PUBLIC: list = []  # OpenAPI: no authentication
INT = {"type": "integer"}
STR = {"type": "string"}

SECTION = {
    "type": "object",
    "properties": {
        "catalog_num": INT,
        "course_id": INT,
        "course_num": INT,
        "instructors": {"type": "array", "items": STR},
        "is_tracking": {"type": "boolean"},
        "mode": {"type": ["string", "null"]},
        "num_tracking": INT,
        "section": STR,
        "status": {"enum": ["OPEN", "CLOSED", "WAITLISTED", "ARCHIVED", "INVALID"]},
        "subject_code": STR,
        "title": STR,
    },
}
COURSE = {
    "type": "object",
    "properties": {
        "id": INT,
        "subject_code": STR,
        "course_num": INT,
        "title": STR,
        "sections": {"type": "array", "items": SECTION},
    },
}
SESSION = {
    "type": "object",
    "properties": {"session_expiration": INT, "session_token": STR, "update_token": STR},
}
ERROR = {
    "type": "object",
    "properties": {
        "success": {"const": False},
        "data": {
            "type": "object",
            "properties": {"errors": {"type": "array", "items": STR}},
        },
        "timestamp": INT,
    },
}


def ok(schema: dict) -> dict:
    body = {
        "type": "object",
        "properties": {"success": {"const": True}, "data": schema, "timestamp": INT},
    }
    return {"200": {"description": "OK", "content": {"application/json": {"schema": body}}}}


def fails(**codes: str) -> dict:
    return {
        code.lstrip("_"): {"description": text, "content": {"application/json": {"schema": ERROR}}}
        for code, text in codes.items()
    }


def body(properties: dict[str, Any], required: list[str]) -> dict:
    schema = {"type": "object", "properties": properties, "required": required}
    return {
        "required": True,
        "description": "A JSON object; at most 16 KiB (larger: 413 before it is read).",
        "content": {"application/json": {"schema": schema}},
    }


SESSION_AUTH = fails(_401=f"{errors.ERR_MISSING_AUTH} / {errors.ERR_BAD_SESSION}")
CATALOG = body({"course_id": {"type": ["integer", "string"], "description": "catalog number"}}, [])
SECTION_ERRORS = fails(
    _400=f"{errors.ERR_MISSING_CATALOG_NUM} / {errors.ERR_BAD_CATALOG_NUM}",
    _404=errors.ERR_BAD_CATALOG_NUM,
)

PATHS: dict[str, dict] = {
    "/session/initialize": {
        "post": {
            "summary": "Sign a device in with an ID token (or a JupyterHub / dev identity).",
            "security": PUBLIC,
            "requestBody": body(
                {
                    "token": {"type": ["string", "null"], "description": "OpenID Connect ID token"},
                    "device_type": {"enum": ["ANDROID", "IOS", "WEB"]},
                    "device_token": {"type": ["string", "null"], "maxLength": MAX_DEVICE_TOKEN},
                },
                [],
            ),
            "responses": {
                **ok(SESSION),
                **fails(
                    _400=f"{errors.ERR_BAD_DEVICE_TYPE} / no issuer for the device type",
                    _401=f"{errors.ERR_BAD_TOKEN} / {errors.ERR_NO_IDENTITY}",
                    _403="e-mail domain not allowed",
                    _503=errors.ERR_IDP_UNREACHABLE,
                ),
            },
        }
    },
    "/session/update": {
        "post": {
            "summary": "Swap the update token (Authorization: Bearer) for a new session.",
            "security": PUBLIC,
            "responses": {
                **ok(SESSION),
                **fails(_401=f"{errors.ERR_MISSING_AUTH} / {errors.ERR_BAD_UPDATE_TOKEN}"),
            },
        }
    },
    "/users/tracking": {
        "get": {
            "summary": "The sections the caller tracks.",
            "responses": {
                **ok(
                    {
                        "type": "object",
                        "properties": {"sections": {"type": "array", "items": SECTION}},
                    }
                ),
                **SESSION_AUTH,
            },
        }
    },
    "/users/device-token": {
        "post": {
            "summary": "Attach a push device token to the caller's session.",
            "requestBody": body({"device_token": {"type": "string"}}, ["device_token"]),
            "responses": {
                **ok({"type": "null"}),
                **fails(_400=errors.ERR_MISSING_DEVICE_TOKEN, _409=errors.ERR_DEVICE_BUSY),
                **fails(_401=f"{errors.ERR_BAD_SESSION} / {errors.ERR_NO_SESSION}"),
            },
        }
    },
    "/users/notification": {
        "post": {
            "summary": "Choose how to be told: ANDROID, IOS, WEB (with subscription), EMAIL, NONE.",
            "requestBody": body(
                {
                    "notification": {"enum": list(NOTIFICATION_CHOICES)},
                    "subscription": {
                        "type": "object",
                        "properties": {
                            "endpoint": STR,
                            "keys": {
                                "type": "object",
                                "properties": {"p256dh": STR, "auth": STR},
                            },
                        },
                    },
                    "email": STR,
                    "statuses": {"type": "array", "items": {"enum": list(NOTIFIABLE)}},
                },
                ["notification"],
            ),
            "responses": {
                **ok({"type": "null"}),
                **fails(_400=f"{errors.ERR_BAD_NOTIFICATION} / bad subscription, email, statuses"),
                **SESSION_AUTH,
            },
        }
    },
    "/sections/track": {
        "post": {
            "summary": "Track a section (course_id carries its catalog number).",
            "requestBody": CATALOG,
            "responses": {
                **ok(SECTION),
                **SECTION_ERRORS,
                **fails(_409=errors.ERR_ALREADY_TRACKING),
                **SESSION_AUTH,
            },
        }
    },
    "/sections/untrack": {
        "post": {
            "summary": "Stop tracking a section (course_id carries its catalog number).",
            "requestBody": CATALOG,
            "responses": {
                **ok(SECTION),
                **SECTION_ERRORS,
                **fails(_409=errors.ERR_NOT_TRACKING),
                **SESSION_AUTH,
            },
        }
    },
    "/courses/search": {
        "post": {
            "summary": "Search this term's courses; ranked, at most search_limit.",
            "security": PUBLIC,
            "requestBody": body({"query": {"type": "string", "maxLength": 100}}, ["query"]),
            "responses": {
                **ok(
                    {
                        "type": "object",
                        "properties": {
                            "courses": {"type": "array", "items": COURSE},
                            "query": STR,
                        },
                    }
                ),
                **fails(_400=errors.ERR_MISSING_QUERY, _401=errors.ERR_BAD_SESSION),
            },
        }
    },
    "/courses/{course_id}": {
        "get": {
            "summary": "A course with its sections.",
            "security": PUBLIC,
            "parameters": [
                {
                    "name": "course_id",
                    "in": "path",
                    "required": True,
                    "schema": {"type": "string", "pattern": "^[0-9]+$"},
                }
            ],
            "responses": {
                **ok(COURSE),
                **fails(_401=errors.ERR_BAD_SESSION, _404=errors.ERR_COURSE_NOT_FOUND),
            },
        }
    },
}
