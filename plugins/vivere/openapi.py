"""Vivere's routes for the server's OpenAPI document (paths relative to the mount)."""

from __future__ import annotations

from typing import Any

from ngshare_vivere import errors
from ngshare_vivere.models import MAX_DESCRIPTION, MAX_LONG_DESCRIPTION, MAX_MESSAGE, MAX_NAME

DATE = {"type": "string", "format": "date-time", "examples": ["2017-02-25T15:55:05.978Z"]}
ID = {"type": "string", "examples": ["17"]}

TICKET = {
    "type": "object",
    "properties": {
        "id": ID,
        "description": {"type": "string"},
        "location": {"type": "string"},
        "contact": {"type": "string"},
        "claimed": {"type": "boolean"},
        "claimed_by_me": {"type": "boolean"},
        "expired": {"type": "boolean"},
        "is_mine": {"type": "boolean"},
        "time_created": DATE,
        "time_complete": {**DATE, "type": ["string", "null"]},
    },
}
LOCATION = {
    "type": "object",
    "properties": {
        "id": ID,
        "name": {"type": "string"},
        "map": {"type": ["string", "null"], "format": "uri"},
        "rank": {"type": "integer", "description": "Primary locations only."},
        "is_primary": {"const": True, "description": "Primary locations only."},
    },
}
EVENT = {
    "type": "object",
    "properties": {
        "id": ID,
        "short_description": {"type": "string"},
        "long_description": {"type": "string"},
        "location": {"oneOf": [LOCATION, {"type": "null"}]},
        "start_time": DATE,
        "end_time": DATE,
    },
}
ANNOUNCEMENT = {
    "type": "object",
    "properties": {"id": ID, "message": {"type": "string"}, "time": DATE},
}
TIMES = {
    "type": "object",
    "properties": {
        name: DATE
        for name in ("event_start_time", "event_end_time", "hacking_start_time", "hacking_end_time")
    },
}
ERROR = {
    "type": "object",
    "properties": {
        "success": {"const": False},
        "error": {
            "type": "object",
            "properties": {"title": {"type": "string"}, "message": {"type": "string"}},
        },
    },
}
PUSH_SUBSCRIPTION = {
    "type": "object",
    "properties": {
        "endpoint": {"type": "string", "format": "uri"},
        "expirationTime": {"type": ["number", "null"]},
        "keys": {
            "type": "object",
            "properties": {"p256dh": {"type": "string"}, "auth": {"type": "string"}},
            "required": ["p256dh", "auth"],
        },
    },
    "required": ["endpoint", "keys"],
}
#: A core notification address (``{prefix}notifications/addresses``).
PUSH_ADDRESS = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "channel": {"const": "webpush"},
        "address": {"type": "string"},
        "plugin": {"const": "vivere"},
    },
}
PUBLIC: list = []  # OpenAPI: no authentication
TOKEN_HEADER = {
    "name": "X-MenloHacks-Authorization",
    "in": "header",
    "required": False,
    "description": "A token from user/create or user/login (Authorization: Bearer works too).",
    "schema": {"type": "string"},
}


def ok(schema: dict, status: str = "200", description: str = "OK") -> dict:
    body = {"type": "object", "properties": {"success": {"const": True}, "data": schema}}
    return {status: {"description": description, "content": {"application/json": {"schema": body}}}}


def fails(**codes: str) -> dict:
    return {
        code.lstrip("_"): {
            "description": text,
            "content": {"application/json": {"schema": ERROR}},
        }
        for code, text in codes.items()
    }


def body(properties: dict[str, Any], required: list[str]) -> dict:
    schema = {"type": "object", "properties": properties, "required": required}
    return {
        "required": True,
        "description": "A JSON object or a form; at most 64 KiB (larger: 413 before it is read).",
        "content": {
            "application/json": {"schema": schema},
            "application/x-www-form-urlencoded": {"schema": schema},
        },
    }


#: Ids: decimal digits, at most 2**31 - 1; anything else is a 400 (Invalid ... ID).
ID_PATTERN = "^[0-9]{1,10}$"


def path_id(name: str) -> list[dict]:
    return [
        {
            "name": name,
            "in": "path",
            "required": True,
            "description": "Decimal digits, at most 2147483647 (else 400 Invalid ... ID).",
            "schema": {"type": "string", "pattern": ID_PATTERN},
        }
    ]


def text(max_length: int) -> dict:
    """A non-blank string of at most ``max_length`` characters (else a 400)."""
    return {"type": "string", "minLength": 1, "maxLength": max_length}


STR = {"type": "string"}
NAME = text(MAX_NAME)
RANK = {
    "type": "integer",
    "minimum": -1_000_000,
    "maximum": 1_000_000,
    "description": "rank >= 0 makes the location a map; -1_000_000..1_000_000",
}
LOGIN = fails(_401=errors.ERR_LOGIN_REQUIRED)
ORGANISER = fails(_401=errors.ERR_LOGIN_REQUIRED, _403=errors.ERR_NOT_ORGANISER)
ID_BODY = body({"id": {"type": ["string", "integer"], "pattern": ID_PATTERN}}, ["id"])


def ticket_action(summary: str, **codes: str) -> dict:
    return {
        "post": {
            "summary": summary,
            "parameters": [TOKEN_HEADER],
            "requestBody": ID_BODY,
            "responses": {
                **ok(TICKET),
                **fails(_400="No id provided / Invalid Ticket ID", **codes),
                **LOGIN,
            },
        }
    }


EVENT_FIELDS = {
    "short_description": NAME,
    "long_description": {"type": "string", "maxLength": MAX_LONG_DESCRIPTION},
    "start_time": DATE,
    "end_time": DATE,
    "location_id": {"type": ["string", "integer", "null"]},
}

HTML = {"text/html": {"schema": {"type": "string"}}}


def page_answers(**codes: str) -> dict:
    """The live board is a page: its answers, errors included, are HTML."""
    return {code.lstrip("_"): {"description": d, "content": HTML} for code, d in codes.items()}


PATHS: dict[str, dict] = {
    "/board": {
        "get": {
            "summary": "The live board (a browser page): announcements, the mentorship queue "
            "and the schedule, kept current over the channels; organisers get a form.",
            "responses": {
                **page_answers(_200="The page"),
                "302": {"description": "Not signed in: to the hub's login page (behind a hub)"},
            },
        }
    },
    "/board/announcements": {
        "post": {
            "summary": "Announce now, from the live board's form (organisers; XSRF token).",
            "requestBody": {
                "required": True,
                "content": {
                    "application/x-www-form-urlencoded": {
                        "schema": {
                            "type": "object",
                            "properties": {"message": text(MAX_MESSAGE), "_xsrf": STR},
                            "required": ["message", "_xsrf"],
                        }
                    }
                },
            },
            "responses": {
                "303": {"description": "Posted: back to the board"},
                **page_answers(
                    _400="The message is empty, too long or holds a character that "
                    "cannot be stored",
                    _403="Not an organiser, or the form's XSRF token is missing or wrong",
                ),
            },
        }
    },
    "/": {"get": {"summary": "Name and version.", "security": PUBLIC, "responses": ok({})}},
    "/times": {
        "get": {"summary": "The event's key times.", "security": PUBLIC, "responses": ok(TIMES)}
    },
    "/maps": {
        "get": {
            "summary": "Primary locations (maps), by rank.",
            "security": PUBLIC,
            "responses": ok({"type": "array", "items": LOCATION}),
        }
    },
    "/location/image/{location_id}": {
        "get": {
            "summary": "A location's map image (PNG, JPEG, GIF or WebP), with ETag and caching.",
            "security": PUBLIC,
            "parameters": path_id("location_id"),
            "responses": {
                "200": {"description": "The image", "content": {"image/*": {}}},
                "304": {"description": "Not modified (If-None-Match)"},
                **fails(_400="Invalid Location ID", _404="Location not found / no map"),
            },
        }
    },
    "/announcements": {
        "get": {
            "summary": "Announcements with since_date < time <= now, newest first.",
            "security": PUBLIC,
            "parameters": [
                {
                    "name": "since_date",
                    "in": "query",
                    "required": False,
                    "description": "ISO 8601; default the Unix epoch.",
                    "schema": DATE,
                }
            ],
            "responses": {
                **ok({"type": "array", "items": ANNOUNCEMENT}),
                **fails(_400="since_date is not ISO 8601"),
            },
        }
    },
    "/announcements/push-subscription": {
        "post": {
            "summary": "Subscribe the caller's browser to announcements by Web Push.",
            "requestBody": {
                "required": True,
                "description": "The browser's PushSubscription.toJSON().",
                "content": {"application/json": {"schema": PUSH_SUBSCRIPTION}},
            },
            "responses": {
                **ok(PUSH_ADDRESS, "201", "Subscribed (the same endpoint again: the same address)"),
                **fails(
                    _400="A malformed subscription (the message says what)",
                    _401=errors.ERR_LOGIN_REQUIRED,
                    _404=errors.ERR_PUSH_OFF,
                ),
            },
        },
        "delete": {
            "summary": "Unsubscribe one of the caller's browsers from announcements.",
            "parameters": [
                {"name": "endpoint", "in": "query", "required": True, "schema": {"type": "string"}}
            ],
            "responses": {
                **ok({"type": "object", "properties": {"removed": {"const": 1}}}),
                **fails(
                    _400="No endpoint provided",
                    _401=errors.ERR_LOGIN_REQUIRED,
                    _404=f"{errors.ERR_PUSH_NOT_SUBSCRIBED}; or {errors.ERR_PUSH_OFF}",
                ),
            },
        },
    },
    "/events": {
        "get": {
            "summary": "Every event, by start time.",
            "security": PUBLIC,
            "responses": ok({"type": "array", "items": EVENT}),
        }
    },
    "/user/create": {
        "post": {
            "summary": "Create an account; returns a token.",
            "security": PUBLIC,
            "requestBody": body(
                {
                    "name": NAME,
                    "username": {**NAME, "pattern": "^[a-z0-9][a-z0-9._@+-]*$"},
                    "password": {"type": "string", "minLength": 8, "maxLength": 1024},
                },
                ["name", "username", "password"],
            ),
            "responses": {
                **ok({"type": "object", "properties": {"token": STR}}, "201", "Created"),
                **fails(
                    _400="Missing, blank or unacceptable parameter", _409=errors.ERR_USER_EXISTS
                ),
            },
        }
    },
    "/user/login": {
        "post": {
            "summary": "Log in; returns a new token.",
            "security": PUBLIC,
            "requestBody": body(
                {"username": NAME, "password": text(1024)}, ["username", "password"]
            ),
            "responses": {
                **ok(
                    {
                        "type": "object",
                        "properties": {"name": STR, "token": STR, "username": STR},
                    }
                ),
                **fails(_400="Missing or blank parameter", _401=errors.ERR_BAD_LOGIN),
            },
        }
    },
    "/mentorship/create": {
        "post": {
            "summary": "Ask for a mentor.",
            "parameters": [TOKEN_HEADER],
            "requestBody": body(
                {"description": text(MAX_DESCRIPTION), "location": NAME, "contact": NAME},
                ["description", "location", "contact"],
            ),
            "responses": {
                **ok(TICKET, "201", "Created"),
                **fails(_400="Missing, blank or too long parameter"),
                **LOGIN,
            },
        }
    },
    "/mentorship/queue": {
        "get": {
            "summary": "Open tickets, oldest first (login optional: fills is_mine, claimed_by_me).",
            "security": PUBLIC,
            "parameters": [TOKEN_HEADER],
            "responses": ok({"type": "array", "items": TICKET}),
        }
    },
    "/mentorship/user/queue": {
        "get": {
            "summary": "The caller's tickets in four buckets.",
            "parameters": [TOKEN_HEADER],
            "responses": {
                **ok(
                    {
                        "type": "object",
                        "properties": {
                            "categories": {"type": "array", "items": STR},
                            "tickets": {
                                "type": "object",
                                "additionalProperties": {"type": "array", "items": TICKET},
                            },
                        },
                    }
                ),
                **LOGIN,
            },
        }
    },
    "/mentorship/user/claimed": {
        "get": {
            "summary": "Tickets the caller claimed and nobody closed.",
            "parameters": [TOKEN_HEADER],
            "responses": {**ok({"type": "array", "items": TICKET}), **LOGIN},
        }
    },
    "/mentorship/claim": ticket_action(
        "Claim an open ticket.",
        _403=errors.ERR_CLAIM_OWN,
        _404=errors.ERR_TICKET_NOT_FOUND,
        _409="Ticket already claimed / closed / expired",
    ),
    "/mentorship/reopen": ticket_action(
        "Put a ticket back in the queue (mentee or mentor); fresh expiry, same place.",
        _403=errors.ERR_CANNOT_REOPEN,
        _404=errors.ERR_TICKET_NOT_FOUND,
        _409=errors.ERR_TICKET_OPEN,
    ),
    "/mentorship/close": ticket_action(
        "Close a ticket (mentee or mentor).",
        _403=errors.ERR_CANNOT_CLOSE,
        _404=errors.ERR_TICKET_NOT_FOUND,
        _409=errors.ERR_TICKET_CLOSED,
    ),
    "/admin/events": {
        "post": {
            "summary": "Create an event (organisers).",
            "requestBody": body(EVENT_FIELDS, ["short_description", "start_time", "end_time"]),
            "responses": {**ok(EVENT, "201", "Created"), **fails(_400="Bad field"), **ORGANISER},
        }
    },
    "/admin/events/{event_id}": {
        "patch": {
            "summary": "Change some of an event's fields (organisers).",
            "parameters": path_id("event_id"),
            "requestBody": body(EVENT_FIELDS, []),
            "responses": {
                **ok(EVENT),
                **fails(_400="Bad field", _404=errors.ERR_EVENT_NOT_FOUND),
                **ORGANISER,
            },
        },
        "delete": {
            "summary": "Delete an event (organisers).",
            "parameters": path_id("event_id"),
            "responses": {**ok(EVENT), **fails(_404=errors.ERR_EVENT_NOT_FOUND), **ORGANISER},
        },
    },
    "/admin/locations": {
        "get": {
            "summary": "Every location, primary or not (organisers).",
            "responses": {**ok({"type": "array", "items": LOCATION}), **ORGANISER},
        },
        "post": {
            "summary": "Create a location; rank >= 0 makes it a map (organisers).",
            "requestBody": body({"name": NAME, "rank": RANK}, ["name"]),
            "responses": {**ok(LOCATION, "201", "Created"), **fails(_400="Bad field"), **ORGANISER},
        },
    },
    "/admin/locations/{location_id}": {
        "patch": {
            "summary": "Rename or re-rank a location (organisers).",
            "parameters": path_id("location_id"),
            "requestBody": body({"name": NAME, "rank": RANK}, []),
            "responses": {
                **ok(LOCATION),
                **fails(_400="Bad field", _404=errors.ERR_LOCATION_NOT_FOUND),
                **ORGANISER,
            },
        },
        "delete": {
            "summary": "Delete a location no event uses (organisers).",
            "parameters": path_id("location_id"),
            "responses": {
                **ok(LOCATION),
                **fails(_404=errors.ERR_LOCATION_NOT_FOUND, _409=errors.ERR_LOCATION_IN_USE),
                **ORGANISER,
            },
        },
    },
    "/admin/locations/{location_id}/map": {
        "put": {
            "summary": "Upload a location's map image as the raw body (organisers).",
            "parameters": path_id("location_id"),
            "requestBody": {
                "required": True,
                "content": {"application/octet-stream": {"schema": {"format": "binary"}}},
            },
            "responses": {
                **ok(LOCATION),
                **fails(
                    _400=errors.ERR_IMAGE_EMPTY,
                    _404=errors.ERR_LOCATION_NOT_FOUND,
                    _413="Larger than c.Vivere.max_map_image_bytes",
                    _415=errors.ERR_IMAGE_TYPE,
                ),
                **ORGANISER,
            },
        },
        "delete": {
            "summary": "Remove a location's map (organisers).",
            "parameters": path_id("location_id"),
            "responses": {
                **ok(LOCATION),
                **fails(_404=errors.ERR_LOCATION_NOT_FOUND),
                **ORGANISER,
            },
        },
    },
    "/admin/announcements": {
        "get": {
            "summary": "Every announcement, future ones included (organisers).",
            "responses": {**ok({"type": "array", "items": ANNOUNCEMENT}), **ORGANISER},
        },
        "post": {
            "summary": "Announce now, or at a future time (organisers).",
            "requestBody": body({"message": text(MAX_MESSAGE), "time": DATE}, ["message"]),
            "responses": {
                **ok(ANNOUNCEMENT, "201", "Created"),
                **fails(_400="Bad field"),
                **ORGANISER,
            },
        },
    },
    "/admin/announcements/{announcement_id}": {
        "patch": {
            "summary": "Change an announcement's message or time (organisers).",
            "parameters": path_id("announcement_id"),
            "requestBody": body({"message": text(MAX_MESSAGE), "time": DATE}, []),
            "responses": {
                **ok(ANNOUNCEMENT),
                **fails(_400="Bad field", _404=errors.ERR_ANNOUNCEMENT_NOT_FOUND),
                **ORGANISER,
            },
        },
        "delete": {
            "summary": "Delete an announcement (organisers).",
            "parameters": path_id("announcement_id"),
            "responses": {
                **ok(ANNOUNCEMENT),
                **fails(_404=errors.ERR_ANNOUNCEMENT_NOT_FOUND),
                **ORGANISER,
            },
        },
    },
    "/admin/times": {
        "patch": {
            "summary": "Set event times; null restores the configured default (organisers).",
            "requestBody": body({**TIMES["properties"]}, []),
            "responses": {**ok(TIMES), **fails(_400="Bad date"), **ORGANISER},
        }
    },
    "/sms/announcement": {
        "post": {
            "summary": "Twilio inbound-SMS webhook: an organiser's text becomes an announcement.",
            "security": PUBLIC,
            "parameters": [
                {
                    "name": "X-Twilio-Signature",
                    "in": "header",
                    "required": True,
                    "schema": {"type": "string"},
                }
            ],
            "requestBody": {
                "required": True,
                "content": {
                    "application/x-www-form-urlencoded": {
                        "schema": {
                            "type": "object",
                            "properties": {
                                "From": STR,
                                "Body": STR,
                                "MessageSid": STR,
                                "AccountSid": STR,
                            },
                        }
                    }
                },
            },
            "responses": {
                "200": {"description": "Empty TwiML", "content": {"text/xml": {}}},
                **fails(_400=errors.ERR_SMS_EMPTY, _403="Bad signature or not an organiser"),
            },
        }
    },
}
