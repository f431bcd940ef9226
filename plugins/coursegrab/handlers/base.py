"""The base of every CourseGrab route: the seed's envelope, JSON bodies, the caller.

Success is ``{"success": true, "data": ..., "timestamp": <unix seconds>}``;
every error — the handlers' own, the 401 of ``@authenticated``, the core's
404/405/413/500 — is ``{"success": false, "data": {"errors": [message]},
"timestamp": ...}`` with the real status code (the original answered every
error with a 200).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from ngshare_coursegrab import errors
from ngshare_coursegrab.config import CourseGrab

from ngshare.plugin_api import ApiError, APIHandler, public

if TYPE_CHECKING:
    from ngshare.plugin_api import Identity

#: Bodies are small; larger ones get a 413 before they are read.
BODY_BYTES = 16 * 1024
MAX_ID = 2**31 - 1


def is_storable(text: str) -> bool:
    """No NUL (PostgreSQL refuses it) and no lone surrogate (no database encodes it)."""
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


class CourseGrabHandler(APIHandler):
    """Envelope, body and caller shared by CourseGrab's handlers."""

    bad_json_message = errors.ERR_BAD_JSON

    @property
    def unauthenticated_message(self) -> str:  # type: ignore[override]
        """The seed's texts: no header at all, or a header that identifies nobody."""
        if self.request.headers.get("Authorization") is None:
            return errors.ERR_MISSING_AUTH
        return errors.ERR_BAD_SESSION

    @property
    def settings_(self) -> CourseGrab:
        return self.ctx.state(CourseGrab)

    @property
    def max_body_bytes(self) -> int:
        return min(self.ctx.config.max_body_bytes, BODY_BYTES)

    def error_envelope(self, status: int, message: str, extra: dict[str, Any]) -> dict:
        return {"success": False, "data": {"errors": [message]}, "timestamp": int(time.time())}

    def success(self, data: Any, status: int = 200) -> None:
        self.write_json({"success": True, "data": data, "timestamp": int(time.time())}, status)

    def success_text(self, data: str) -> None:
        """:meth:`success` for ``data`` already serialised as JSON text."""
        self.set_header("Content-Type", "application/json; charset=UTF-8")
        self.finish(f'{{"success":true,"data":{data},"timestamp":{int(time.time())}}}')

    def params(self) -> dict[str, Any]:
        """The JSON object body (``{}`` when empty); 400 for anything else."""
        value = self.json_body()
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise ApiError(400, errors.ERR_BAD_JSON)
        return value

    def text(self, body: dict[str, Any], name: str, limit: int) -> str | None:
        """An optional string field, stripped; ``None`` when missing, null or blank."""
        value = body.get(name)
        if value is None:
            return None
        if not isinstance(value, str):
            raise ApiError(400, errors.ERR_NOT_TEXT.format(name=name))
        if not is_storable(value):
            raise ApiError(400, errors.ERR_BAD_CHARACTER.format(name=name))
        value = value.strip()
        if len(value) > limit:
            raise ApiError(400, errors.ERR_TOO_LONG.format(name=name, n=limit))
        return value or None

    async def optional_identity(self) -> Identity | None:
        """The caller, if they sent credentials; 401 for credentials that identify nobody."""
        self.identity = await self.ctx.identity.identify(self)
        if self.identity is None and self.request.headers.get("Authorization") is not None:
            raise ApiError(401, errors.ERR_BAD_SESSION)
        return self.identity


def parse_int(value: Any, message: str) -> int:
    """A 32-bit non-negative integer from JSON (``12401`` or ``"12401"``); 400 otherwise."""
    if isinstance(value, bool):
        raise ApiError(400, message)
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        if len(value.strip()) > 10:
            raise ApiError(400, message)
        number = int(value.strip())
    else:
        raise ApiError(400, message)
    if not 0 <= number <= MAX_ID:
        raise ApiError(400, message)
    return number


class CourseGrabNotFoundHandler(CourseGrabHandler):
    """Anything under the mount that no route matches: a 404 in the envelope."""

    @public
    async def get(self, *args: Any) -> None:
        raise ApiError(404, errors.ERR_NOT_FOUND)

    post = put = patch = delete = get
