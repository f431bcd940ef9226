"""The base of every Ekatra route: the seed's ``{"message": ...}`` envelope and JSON bodies.

Success is ``{"message": "success", ...named keys}`` with status 200, as the
seed documents; every error — the handlers' own, 401s from ``@authenticated``,
the core's 404/405/413/500 — is ``{"message": "<why>"}`` with the real status.
Bodies are JSON objects (``Content-Type`` is not required: the original's
clients did not always send it).
"""

from __future__ import annotations

from typing import Any

from ngshare_ekatra import errors
from ngshare_ekatra.access import Caller
from ngshare_ekatra.clock import Clock
from ngshare_ekatra.config import Ekatra
from ngshare_ekatra.wire import parse_id

from ngshare.plugin_api import ApiError, APIHandler, public

#: Where the plugin is mounted under the server's prefix.
MOUNT = "ekatra/"
#: A course of 366 long days fits; larger bodies get a 413 before they are read.
BODY_BYTES = 4 * 1024 * 1024


class EkatraHandler(APIHandler):
    """Envelope, body and caller shared by Ekatra's handlers."""

    unauthenticated_message = errors.ERR_LOGIN_REQUIRED
    bad_json_message = errors.ERR_BAD_JSON

    @property
    def settings_(self) -> Ekatra:
        return self.ctx.state(Ekatra)

    @property
    def clock(self) -> Clock:
        return self.ctx.state(Clock)

    @property
    def max_body_bytes(self) -> int:
        return min(self.ctx.config.max_body_bytes, BODY_BYTES)

    @property
    def memory_body_bytes(self) -> int:
        return BODY_BYTES

    def error_envelope(self, status: int, message: str, extra: dict[str, Any]) -> dict:
        return {"message": message, **extra}

    def ok(self, message: str = "success", **keys: Any) -> None:
        self.write_json({"message": message, **keys})

    def body(self) -> dict[str, Any]:
        """The JSON object body; 400 if it is missing, not JSON or not an object."""
        value = self.json_body()
        if value is None:
            raise ApiError(400, errors.ERR_BAD_JSON)
        if not isinstance(value, dict):
            raise ApiError(400, errors.ERR_NOT_OBJECT)
        return value

    def caller(self) -> Caller:
        assert self.identity is not None
        return Caller(self.identity.name, self.identity.is_admin)

    def origin(self) -> str:
        """Scheme, host and port of this server as clients reach it."""
        return self.settings_.public_url or f"{self.request.protocol}://{self.request.host}"

    def mount_url(self) -> str:
        return self.origin() + self.ctx.config.prefix + MOUNT


def ids(**segments: tuple[str, str]) -> dict[str, int]:
    """URL segments as keys: ``ids(course=("c_id", "12"))``; 400 for a malformed one."""
    return {name: parse_id(value, what) for name, (what, value) in segments.items()}


class EkatraNotFoundHandler(EkatraHandler):
    """Anything under the mount that no route matches: a 404 in Ekatra's envelope."""

    @public
    async def get(self, *args: Any) -> None:
        raise ApiError(404, errors.ERR_NOT_FOUND)

    post = put = patch = delete = get
