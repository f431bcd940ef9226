"""Ekatra's request fields in and objects out: checking, aliases, and the JSON shapes.

Both spellings the seed uses are accepted where its README and its code
disagree: ``correct_answer`` / ``correct-answer``. Fields a client sends that
the server assigns (``id``, ``day``, ``question_number``, dates) are ignored,
so an object read from the API can be sent back as it is.

Every check raises :class:`~ngshare.plugin_api.ApiError` 400 naming the field.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import phonenumbers
from ngshare_ekatra import errors
from ngshare_ekatra.models import MAX_DESCRIPTION, MAX_NAME, MAX_TEXT
from ngshare_ekatra.schedule import zone

from ngshare.plugin_api import ApiError

MAX_DAYS = 366
MAX_QUESTIONS = 50
MAX_STUDENTS = 5000
CHANNELS = ("sms", "whatsapp")
#: Question types whose answers are checked against ``correct_answer`` (lower case).
CHECKED_TYPES = {
    "mcq": "choice",
    "multiple choice": "choice",
    "multiple-choice": "choice",
    "multiple_choice": "choice",
    "exact": "exact",
}

MISSING: Any = object()


def is_storable(text: str) -> bool:
    """Whether every database stores ``text`` as is: no NUL, no lone surrogate."""
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def field(body: dict, *names: str) -> Any:
    """The value of the first of ``names`` present in ``body``; ``MISSING`` if none is."""
    for name in names:
        if name in body:
            return body[name]
    return MISSING


def text(
    body: dict,
    name: str,
    max_length: int,
    *,
    aliases: tuple[str, ...] = (),
    required: bool = True,
    blank: bool = False,
    strip: bool = True,
) -> Any:
    """A string field of at most ``max_length`` characters; ``MISSING`` if absent and optional."""
    value = field(body, name, *aliases)
    if value is MISSING or value is None:
        if required:
            raise ApiError(400, errors.ERR_MISSING.format(name=name))
        return MISSING
    if not isinstance(value, str):
        raise ApiError(400, errors.ERR_NOT_TEXT.format(name=name))
    if not is_storable(value):
        raise ApiError(400, errors.ERR_BAD_CHARACTER.format(name=name))
    if strip:
        value = value.strip()
    if not value and not blank:
        raise ApiError(400, errors.ERR_BLANK.format(name=name))
    if len(value) > max_length:
        raise ApiError(400, errors.ERR_TOO_LONG.format(name=name, n=max_length))
    return value


def items(body: dict, name: str, max_items: int, *, required: bool = False) -> Any:
    """A list field of JSON objects; ``MISSING`` if absent (and not required); ``null`` is []."""
    value = field(body, name)
    if value is MISSING:
        if required:
            raise ApiError(400, errors.ERR_MISSING.format(name=name))
        return MISSING
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise ApiError(400, errors.ERR_NOT_LIST.format(name=name))
    if len(value) > max_items:
        raise ApiError(400, errors.ERR_TOO_MANY.format(name=name, n=max_items))
    return value


def boolean(body: dict, name: str, default: bool) -> bool:
    value = field(body, name)
    if value is MISSING or value is None:
        return default
    if not isinstance(value, bool):
        raise ApiError(400, errors.ERR_NOT_BOOL.format(name=name))
    return value


# -- courses ---------------------------------------------------------------------------------


@dataclass
class QuestionIn:
    text: str
    type: str
    correct_answer: str


@dataclass
class DayIn:
    text: str
    questions: list[QuestionIn]


def question_in(body: dict, *, partial: bool = False) -> dict[str, str]:
    """The fields of a question present in ``body`` (all three unless ``partial``)."""
    out = {}
    value = text(body, "question", MAX_TEXT, required=not partial)
    if value is not MISSING:
        out["text"] = value
    value = text(body, "type", 64, required=False, blank=True)
    if value is not MISSING:
        out["type"] = value
    elif not partial:
        out["type"] = ""
    value = text(
        body, "correct_answer", MAX_TEXT, aliases=("correct-answer",), required=False, blank=True
    )
    if value is not MISSING:
        out["correct_answer"] = value
    elif not partial:
        out["correct_answer"] = ""
    return out


def questions_in(body: dict) -> Any:
    """``questions`` of a day (``MISSING`` if absent)."""
    listed = items(body, "questions", MAX_QUESTIONS)
    if listed is MISSING:
        return MISSING
    return [QuestionIn(**question_in(q)) for q in listed]


def day_in(body: dict) -> DayIn:
    questions = questions_in(body)
    return DayIn(text(body, "text", MAX_TEXT), [] if questions is MISSING else questions)


def days_in(body: dict, *, required: bool = False) -> Any:
    listed = items(body, "days", MAX_DAYS, required=required)
    if listed is MISSING:
        return MISSING
    return [day_in(d) for d in listed]


def course_fields(body: dict, *, partial: bool) -> dict[str, Any]:
    """name, author, description, activation_message present in ``body``."""
    required = not partial
    out = {}
    for name, limit, needed in (
        ("name", MAX_NAME, required),
        ("author", MAX_NAME, required),
        ("description", MAX_TEXT, required),
        ("activation_message", MAX_TEXT, False),
    ):
        value = text(body, name, limit, required=needed, blank=name == "description")
        if value is not MISSING:
            out[name] = value
    return out


def check_kind(question_type: str) -> str | None:
    """``"choice"``, ``"exact"``, or ``None`` for types whose answers are not checked."""
    return CHECKED_TYPES.get(" ".join(question_type.lower().split()))


def normalise_answer(value: str) -> str:
    return " ".join(value.lower().split()).rstrip(".!")


def is_correct(question_type: str, correct_answer: str, answer: str) -> bool | None:
    """Whether ``answer`` is right; ``None`` when the type is not checked or no answer is set.

    Multiple choice: the option letter or number (``b``, ``B)``, ``2``) or the
    option's text, case-insensitively. Exact: the same words, ignoring case,
    spacing and a final full stop.
    """
    kind = check_kind(question_type)
    if kind is None or not correct_answer.strip():
        return None
    given, right = normalise_answer(answer), normalise_answer(correct_answer)
    if kind == "choice":
        given = given.rstrip(")").strip()
        right = right.rstrip(")").strip()
    return given == right


# -- groups ----------------------------------------------------------------------------------


@dataclass
class LearnerIn:
    name: str
    phone: str
    country_code: str
    channel: str
    timezone: str
    is_subscribed: bool


def phone_in(number: Any, country_code: Any) -> tuple[str, str]:
    """``(E.164 number, "+<country code>")``; 400 unless it is a valid phone number.

    A number without ``+`` is read with ``country_code`` (``+91``) in front.
    """
    if not isinstance(number, str | int) or isinstance(number, bool):
        raise ApiError(400, errors.ERR_BAD_PHONE)
    raw = str(number).strip()
    if country_code not in (MISSING, None, "") and not raw.startswith("+"):
        if not isinstance(country_code, str | int) or isinstance(country_code, bool):
            raise ApiError(400, errors.ERR_BAD_PHONE)
        raw = "+" + str(country_code).strip().lstrip("+") + raw
    if not raw.startswith("+") or len(raw) > 32 or not is_storable(raw):
        raise ApiError(400, errors.ERR_BAD_PHONE)
    try:
        parsed = phonenumbers.parse(raw, None)
    except phonenumbers.NumberParseException:
        raise ApiError(400, errors.ERR_BAD_PHONE) from None
    if not phonenumbers.is_valid_number(parsed):
        raise ApiError(400, errors.ERR_BAD_PHONE)
    e164 = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    return e164, f"+{parsed.country_code}"


def learner_in(body: dict) -> LearnerIn:
    name = text(body, "name", MAX_NAME)
    number = field(body, "number", "phone")
    if number is MISSING or number is None:
        raise ApiError(400, errors.ERR_MISSING.format(name="number"))
    phone, country_code = phone_in(number, field(body, "country_code"))
    channel = field(body, "channel")
    if channel is MISSING or channel is None:
        channel = "sms"
    if not isinstance(channel, str) or channel.strip().lower() not in CHANNELS:
        raise ApiError(400, errors.ERR_BAD_CHANNEL)
    timezone = field(body, "timezone")
    if timezone is MISSING or timezone is None:
        timezone = "UTC"
    try:
        zone(timezone)
    except ValueError:
        raise ApiError(400, errors.ERR_BAD_TIMEZONE) from None
    return LearnerIn(
        name=name,
        phone=phone,
        country_code=country_code,
        channel=channel.strip().lower(),
        timezone=timezone,
        is_subscribed=boolean(body, "is_subscribed", True),
    )


def learners_in(body: dict, *, required: bool = False) -> Any:
    listed = items(body, "students", MAX_STUDENTS, required=required)
    if listed is MISSING:
        return MISSING
    learners = [learner_in(s) for s in listed]
    seen: set[str] = set()
    for learner in learners:
        if learner.phone in seen:
            raise ApiError(400, errors.ERR_DUPLICATE_NUMBER.format(number=learner.phone))
        seen.add(learner.phone)
    return learners


def group_fields(body: dict, *, partial: bool) -> dict[str, Any]:
    out = {}
    value = text(body, "name", MAX_NAME, required=not partial)
    if value is not MISSING:
        out["name"] = value
    value = text(body, "description", MAX_DESCRIPTION, required=False, blank=True)
    if value is not MISSING:
        out["description"] = value
    elif not partial:
        out["description"] = ""
    return out


def parse_id(value: str, what: str) -> int:
    """A URL segment as a row key; 400 ``Invalid <what> id`` otherwise."""
    if not value.isascii() or not value.isdigit() or len(value) > 10 or int(value) > 2**31 - 1:
        raise ApiError(400, errors.ERR_BAD_ID.format(what=what))
    return int(value)
