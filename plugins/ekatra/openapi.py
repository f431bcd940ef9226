"""Ekatra's routes for the server's OpenAPI document (paths relative to the mount)."""

from __future__ import annotations

from typing import Any

from ngshare_ekatra import errors
from ngshare_ekatra.models import MAX_DESCRIPTION, MAX_NAME, MAX_TEXT
from ngshare_ekatra.wire import MAX_DAYS, MAX_QUESTIONS, MAX_STUDENTS

ID_PATTERN = "^[0-9]{1,10}$"
MESSAGE = {"type": "string"}
ERROR = {"type": "object", "properties": {"message": MESSAGE}, "required": ["message"]}
PUBLIC: list = []


def ok(**keys: Any) -> dict:
    schema = {"type": "object", "properties": {"message": MESSAGE, **keys}, "required": ["message"]}
    return {"200": {"description": "OK", "content": {"application/json": {"schema": schema}}}}


def fails(**codes: str) -> dict:
    return {
        code.lstrip("_"): {"description": text, "content": {"application/json": {"schema": ERROR}}}
        for code, text in codes.items()
    }


def body(properties: dict[str, Any], required: list[str]) -> dict:
    schema = {"type": "object", "properties": properties, "required": required}
    return {
        "required": True,
        "description": "A JSON object; at most 4 MiB (larger: 413 before it is read).",
        "content": {"application/json": {"schema": schema}},
    }


def path_ids(*names: str) -> list[dict]:
    return [
        {
            "name": name,
            "in": "path",
            "required": True,
            "description": "Decimal digits, at most 2147483647 (else 400).",
            "schema": {"type": "string", "pattern": ID_PATTERN},
        }
        for name in names
    ]


def text(max_length: int) -> dict:
    return {"type": "string", "minLength": 1, "maxLength": max_length}


INT = {"type": "integer"}
STR = {"type": "string"}
NULLABLE_STR = {"type": ["string", "null"]}
QUESTION_IN = {
    "type": "object",
    "properties": {
        "question": text(MAX_TEXT),
        "type": {
            "type": "string",
            "maxLength": 64,
            "description": "'mcq' / 'multiple choice' and 'exact' answers are marked",
        },
        "correct_answer": {"type": "string", "maxLength": MAX_TEXT},
        "correct-answer": {
            "type": "string",
            "maxLength": MAX_TEXT,
            "description": "The README's spelling of correct_answer",
        },
    },
    "required": ["question"],
}
DAY_IN = {
    "type": "object",
    "properties": {
        "text": text(MAX_TEXT),
        "questions": {"type": ["array", "null"], "items": QUESTION_IN, "maxItems": MAX_QUESTIONS},
    },
    "required": ["text"],
}
COURSE_FIELDS = {
    "name": text(MAX_NAME),
    "author": text(MAX_NAME),
    "description": {"type": "string", "maxLength": MAX_TEXT},
    "activation_message": text(MAX_TEXT),
    "days": {"type": ["array", "null"], "items": DAY_IN, "maxItems": MAX_DAYS},
}
QUESTION = {
    "type": "object",
    "properties": {"question_number": INT, "question": STR, "type": STR, "correct_answer": STR},
}
COURSE = {
    "type": "object",
    "properties": {
        "id": INT,
        "name": STR,
        "author": STR,
        "description": STR,
        "activation_message": STR,
        "days": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "day": INT,
                    "text": STR,
                    "questions": {"type": "array", "items": QUESTION},
                },
            },
        },
        "added_by": INT,
        "created_date": STR,
        "updated_date": STR,
    },
}
LEARNER_IN = {
    "type": "object",
    "properties": {
        "name": text(MAX_NAME),
        "number": {
            "type": ["string", "integer"],
            "description": "E.164 (+919380169981), or national digits with country_code",
        },
        "country_code": {"type": ["string", "integer"], "examples": ["+91"]},
        "channel": {"type": "string", "examples": ["sms", "whatsapp"]},
        "timezone": {"type": "string", "examples": ["Asia/Kolkata"], "description": "IANA name"},
        "is_subscribed": {"type": "boolean"},
    },
    "required": ["name", "number"],
}
LEARNER = {
    "type": "object",
    "properties": {
        "id": INT,
        "name": STR,
        "number": STR,
        "channel": STR,
        "is_subscribed": {"type": "boolean"},
        "timezone": STR,
        "country_code": STR,
    },
}
GROUP_FIELDS = {
    "name": text(MAX_NAME),
    "description": {"type": "string", "maxLength": MAX_DESCRIPTION},
    "students": {"type": ["array", "null"], "items": LEARNER_IN, "maxItems": MAX_STUDENTS},
}
GROUP = {
    "type": "object",
    "properties": {
        "id": INT,
        "name": STR,
        "description": STR,
        "students": {"type": "array", "items": LEARNER},
        "added_by": INT,
        "created_date": STR,
        "updated_date": STR,
    },
}
DELIVERY = {
    "type": "object",
    "properties": {
        "id": INT,
        "group_id": {"type": ["integer", "null"]},
        "group_name": STR,
        "course_id": {"type": ["integer", "null"]},
        "course_name": STR,
        "day_id": INT,
        "added_by": INT,
        "status": {"enum": ["SCHEDULED", "PAUSED", "STOPPED", "COMPLETED"]},
        "scheduled_time": {"type": "string", "examples": ["2026-11-01 16:40:00"]},
        "timezone": STR,
        "progress": {
            "type": "object",
            "properties": {"days_sent": INT, "total_days": INT, "next_send_at": NULLABLE_STR},
        },
    },
}
ANSWER = {
    "type": "object",
    "properties": {
        "student_id": INT,
        "student_name": STR,
        "day": INT,
        "question_number": INT,
        "answer": STR,
        "is_correct": {"type": ["boolean", "null"]},
        "received_at": STR,
    },
}
DAY_SUMMARY = {
    "type": "object",
    "properties": {
        name: INT for name in ("day", "sent", "late", "skipped", "answers", "correct", "incorrect")
    },
}
LOGIN = fails(_401=errors.ERR_LOGIN_REQUIRED)
BAD = {"_400": "Bad or missing field (the message names it)"}
COURSE_404 = {"_404": errors.ERR_COURSE_NOT_FOUND}
LOCKED = {"_409": "A scheduled or paused delivery uses it"}
DELIVERY_404 = {"_404": errors.ERR_DELIVERY_NOT_FOUND}


def op(
    summary: str,
    responses: dict,
    *,
    request: dict | None = None,
    parameters: list | None = None,
    public: bool = False,
) -> dict:
    out: dict[str, Any] = {"summary": summary, "responses": responses}
    if request is not None:
        out["requestBody"] = request
    if parameters:
        out["parameters"] = parameters
    if public:
        out["security"] = PUBLIC
    return out


ACTION = op(
    "Pause, resume or stop the delivery (the original's action URL).",
    {**ok(status=STR), **fails(**BAD, **DELIVERY_404, _409="Not allowed in its status"), **LOGIN},
    parameters=path_ids("delivery_id"),
)

PATHS: dict[str, dict] = {
    "/auth/signup": {
        "post": op(
            "Create an account (the e-mail is the username).",
            {**ok(id=STR), **fails(**BAD, _409="User with email ... already exists")},
            request=body(
                {
                    "name": text(MAX_NAME),
                    "email": text(MAX_NAME),
                    "contact": {"type": ["string", "integer"]},
                    "password": text(1024),
                },
                ["email", "password"],
            ),
            public=True,
        )
    },
    "/auth/login": {
        "post": op(
            "Log in: a bearer token for Authorization: Bearer <token>.",
            {**ok(token=STR), **fails(**BAD, _401=errors.ERR_BAD_LOGIN)},
            request=body({"email": text(MAX_NAME), "password": text(1024)}, ["email", "password"]),
            public=True,
        )
    },
    "/auth/forgot": {
        "post": op(
            "E-mail a single-use reset link if the address has an account (same answer if not).",
            {**ok(), **fails(**BAD)},
            request=body({"email": text(MAX_NAME)}, ["email"]),
            public=True,
        )
    },
    "/auth/reset/{token}": {
        "post": op(
            "Set a new password with the e-mailed token (new-password / conform-password too).",
            {**ok(), **fails(**BAD, _403=errors.ERR_BAD_RESET_TOKEN)},
            request=body(
                {
                    "password": text(1024),
                    "confirm_password": text(1024),
                    "new-password": text(1024),
                    "conform-password": text(1024),
                },
                [],
            ),
            parameters=[
                {"name": "token", "in": "path", "required": True, "schema": {"type": "string"}}
            ],
            public=True,
        )
    },
    "/course": {
        "get": op(
            "The caller's courses (admins: all).",
            {**ok(courses={"type": "array", "items": COURSE}), **LOGIN},
        ),
        "post": op(
            "Create a course; days are numbered 1..n by the server.",
            {**ok(id=STR), **fails(**BAD), **LOGIN},
            request=body(COURSE_FIELDS, ["name", "author", "description"]),
        ),
    },
    "/course/{course_id}": {
        "get": op(
            "One course (its fields at the top level).",
            {**ok(**COURSE["properties"]), **fails(**BAD, **COURSE_404), **LOGIN},
            parameters=path_ids("course_id"),
        ),
        "put": op(
            "Replace the fields named (days: the new list of days).",
            {**ok(), **fails(**BAD, **COURSE_404, **LOCKED), **LOGIN},
            request=body(COURSE_FIELDS, []),
            parameters=path_ids("course_id"),
        ),
        "delete": op(
            "Delete the course.",
            {**ok(), **fails(**BAD, **COURSE_404, **LOCKED), **LOGIN},
            parameters=path_ids("course_id"),
        ),
    },
    "/course/{c_id}/{day}": {
        "put": op(
            "Replace a day's text and/or questions.",
            {
                **ok(),
                **fails(**BAD, _404="Course not found!! / Day not found!!", **LOCKED),
                **LOGIN,
            },
            request=body(DAY_IN["properties"], []),
            parameters=path_ids("c_id", "day"),
        ),
        "delete": op(
            "Delete a day; later days are renumbered.",
            {
                **ok(),
                **fails(**BAD, _404="Course not found!! / Day not found!!", **LOCKED),
                **LOGIN,
            },
            parameters=path_ids("c_id", "day"),
        ),
    },
    "/course/{c_id}/{day}/{q_id}": {
        "put": op(
            "Replace fields of question number q_id of the day.",
            {**ok(), **fails(**BAD, _404="Course, day or question not found", **LOCKED), **LOGIN},
            request=body(QUESTION_IN["properties"], []),
            parameters=path_ids("c_id", "day", "q_id"),
        ),
        "delete": op(
            "Delete a question; later ones are renumbered.",
            {**ok(), **fails(**BAD, _404="Course, day or question not found", **LOCKED), **LOGIN},
            parameters=path_ids("c_id", "day", "q_id"),
        ),
    },
    "/group": {
        "get": op(
            "The caller's groups (admins: all).",
            {**ok(groups={"type": "array", "items": GROUP}), **LOGIN},
        ),
        "post": op(
            "Create a group of learners.",
            {**ok(id=INT), **fails(**BAD), **LOGIN},
            request=body(GROUP_FIELDS, ["name"]),
        ),
    },
    "/group/{group_id}": {
        "get": op(
            "One group (its fields at the top level).",
            {**ok(**GROUP["properties"]), **fails(**BAD, _404=errors.ERR_GROUP_NOT_FOUND), **LOGIN},
            parameters=path_ids("group_id"),
        ),
        "put": op(
            "Replace the fields named (students: the new list; learners listed again by "
            "number keep their id).",
            {**ok(), **fails(**BAD, _404=errors.ERR_GROUP_NOT_FOUND, **LOCKED), **LOGIN},
            request=body(GROUP_FIELDS, []),
            parameters=path_ids("group_id"),
        ),
        "delete": op(
            "Delete the group.",
            {**ok(), **fails(**BAD, _404=errors.ERR_GROUP_NOT_FOUND, **LOCKED), **LOGIN},
            parameters=path_ids("group_id"),
        ),
    },
    "/group/{g_id}/{s_id}": {
        "put": op(
            "Replace a learner's details.",
            {**ok(), **fails(**BAD, _404="Group or student not found", **LOCKED), **LOGIN},
            request=body(LEARNER_IN["properties"], ["name", "number"]),
            parameters=path_ids("g_id", "s_id"),
        ),
        "delete": op(
            "Remove a learner from the group.",
            {**ok(), **fails(**BAD, _404="Group or student not found", **LOCKED), **LOGIN},
            parameters=path_ids("g_id", "s_id"),
        ),
    },
    "/delivery/group/{g_id}/{c_id}": {
        "post": op(
            "Schedule the course for the group: welcome at schedule_at, then a day a day.",
            {**ok(id=INT), **fails(**BAD, _404="Group or course not found"), **LOGIN},
            request=body(
                {
                    "schedule_at": {
                        "type": "string",
                        "examples": ["2026-12-07 09:00"],
                        "description": "YYYY-MM-DD HH:MM[:SS] in timezone",
                    },
                    "timezone": {"type": "string", "examples": ["Asia/Kolkata"]},
                },
                ["schedule_at"],
            ),
            parameters=path_ids("g_id", "c_id"),
        )
    },
    "/retrieve-deliveries": {
        "get": op(
            "The caller's deliveries with their progress.",
            {**ok(deliveries={"type": "array", "items": DELIVERY}), **LOGIN},
        ),
    },
    "/delivery/retrieve-delivery": {
        "get": op(
            "The same list (the original code's path).",
            {**ok(deliveries={"type": "array", "items": DELIVERY}), **LOGIN},
        ),
    },
    "/delivery/{delivery_id}": {
        "get": op(
            "One delivery with its progress.",
            {**ok(**DELIVERY["properties"]), **fails(**BAD, **DELIVERY_404), **LOGIN},
            parameters=path_ids("delivery_id"),
        ),
        "put": op(
            "PAUSE, RESUME or STOP the delivery (STOPPED is final).",
            {
                **ok(status=STR),
                **fails(**BAD, **DELIVERY_404, _409="Not allowed in its status"),
                **LOGIN,
            },
            request=body({"action": {"enum": ["PAUSE", "RESUME", "STOP"]}}, ["action"]),
            parameters=path_ids("delivery_id"),
        ),
    },
    "/delivery/{delivery_id}/pause_delivery": {"put": ACTION},
    "/delivery/{delivery_id}/schedule_delivery": {"put": ACTION},
    "/delivery/{delivery_id}/stop_delivery": {"put": ACTION},
    "/delivery/{delivery_id}/answers": {
        "get": op(
            "Learners' answers, by learner, day and question (?student=<s_id> for one).",
            {
                **ok(answers={"type": "array", "items": ANSWER}),
                **fails(**BAD, _404="Delivery or student not found"),
                **LOGIN,
            },
            parameters=[
                *path_ids("delivery_id"),
                {
                    "name": "student",
                    "in": "query",
                    "required": False,
                    "schema": {"type": "string", "pattern": ID_PATTERN},
                },
            ],
        )
    },
    "/delivery/{delivery_id}/summary": {
        "get": op(
            "Per day: sent, late, skipped, answers, correct, incorrect.",
            {
                **ok(days={"type": "array", "items": DAY_SUMMARY}),
                **fails(**BAD, **DELIVERY_404),
                **LOGIN,
            },
            parameters=path_ids("delivery_id"),
        ),
    },
    "/twilio/inbound": {
        "post": {
            "summary": "Twilio's webhook for incoming SMS / WhatsApp replies (signed).",
            "security": PUBLIC,
            "requestBody": {
                "required": True,
                "content": {
                    "application/x-www-form-urlencoded": {
                        "schema": {
                            "type": "object",
                            "properties": {"From": STR, "Body": STR, "MessageSid": STR},
                        }
                    }
                },
            },
            "responses": {
                "200": {"description": "Empty TwiML", "content": {"text/xml": {"schema": STR}}},
                **fails(_400="Bad From or Body", _403=errors.ERR_WEBHOOK_REFUSED),
            },
        }
    },
}
