"""The base of every Vivere route: the seed's envelope, JSON (or form) parameters, roles.

Success is ``{"data": ..., "success": true}``; every error — the handlers' own,
401s from ``@authenticated``, the core's 404/405/413/500 — is
``{"error": {"title": ..., "message": ...}, "success": false}`` with the real
status code, through :meth:`VivereHandler.error_envelope`.

Parameters come from a JSON object body (``Content-Type: application/json``,
as the seed asks; a body that starts with ``{`` is read as JSON whatever its
type) or, failing that, from a form body or the query string.

Strings from JSON may hold what no database stores alike: NUL (PostgreSQL
refuses it, SQLite keeps it) and lone surrogates (neither can encode them).
Any parameter holding one is a 400 naming it, on both databases, before
anything is written. Form values and query strings never carry them: the
core turns control characters into spaces there, as Tornado does.
"""

from __future__ import annotations

from datetime import timedelta
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

from ngshare_vivere import errors
from ngshare_vivere.clock import Clock, parse_iso
from ngshare_vivere.config import Vivere
from ngshare_vivere.tickets import Moment

from ngshare.plugin_api import ApiError, APIHandler, public

if TYPE_CHECKING:
    from ngshare.plugin_api import Identity

#: Where the plugin is mounted under the server's prefix.
MOUNT = "vivere/"

#: Parameters bodies are small; larger ones get a 413 before they are read.
PARAMS_BODY_BYTES = 64 * 1024

#: Keys are 32-bit integers on every backend.
MAX_ID = 2**31 - 1

MISSING: Any = object()


def is_storable(text: str) -> bool:
    """Whether every database stores ``text`` as is: no NUL, valid UTF-8 (no lone surrogate)."""
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _is_json(content_type: str) -> bool:
    media = content_type.split(";")[0].strip().lower()
    return media == "application/json" or media.endswith("+json")


class VivereHandler(APIHandler):
    """Envelope, parameters and roles shared by Vivere's handlers."""

    unauthenticated_message = errors.ERR_LOGIN_REQUIRED
    bad_json_message = errors.ERR_BAD_JSON
    #: The largest body this route accepts (bytes); subclasses may raise it.
    body_limit = PARAMS_BODY_BYTES

    # -- services --------------------------------------------------------------

    @property
    def vivere(self) -> Vivere:
        return self.ctx.state(Vivere)

    @property
    def clock(self) -> Clock:
        return self.ctx.state(Clock)

    def moment(self) -> Moment:
        """``now`` and the ticket expiry, read once per request."""
        return Moment(self.clock.now(), timedelta(seconds=self.vivere.ticket_expiry_seconds))

    def base_url(self) -> str:
        """Absolute URL of the mount, for links in objects (``public_url`` if configured)."""
        origin = self.vivere.public_url or f"{self.request.protocol}://{self.request.host}"
        return origin + self.ctx.config.prefix + MOUNT

    # -- envelope -------------------------------------------------------------

    def error_envelope(self, status: int, message: str, extra: dict[str, Any]) -> dict:
        try:
            phrase = HTTPStatus(status).phrase
        except ValueError:
            phrase = "Error"
        title = extra.get("title", phrase)
        return {"error": {"title": title, "message": message}, "success": False}

    def success(self, data: Any, status: int = 200) -> None:
        self.write_json({"data": data, "success": True}, status)

    # -- body -------------------------------------------------------------------

    @property
    def max_body_bytes(self) -> int:
        return min(self.ctx.config.max_body_bytes, self.body_limit)

    def json_params(self) -> dict[str, Any] | None:
        """The JSON object body, or ``None`` for a body that is not JSON (400 if malformed)."""
        raw = self.raw_body()
        if not (_is_json(self.request.headers.get("Content-Type", "")) or raw.lstrip()[:1] == b"{"):
            return None
        value = self.json_body()
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise ApiError(400, errors.ERR_BAD_JSON)
        return value

    def param(self, name: str, *, strip: bool = True) -> Any:
        """A parameter from the JSON body, else the form body or query string; ``MISSING``.

        JSON strings are stripped unless ``strip`` is false (passwords); form
        values are always stripped (the core's :meth:`~ngshare.web.APIHandler.argument`).
        """
        body = self.json_params()
        if body is not None and name in body:
            value = body[name]
            if not isinstance(value, str):
                return value
            if not is_storable(value):
                raise ApiError(400, errors.ERR_BAD_CHARACTER.format(name=name))
            return value.strip() if strip else value
        value = self.argument(name)
        return MISSING if value is None else value

    def has_param(self, name: str) -> bool:
        return self.param(name) is not MISSING

    def text(
        self, name: str, max_length: int, *, required: bool = True, strip: bool = True
    ) -> str | None:
        """A non-blank string parameter of at most ``max_length`` characters.

        Missing: 400 if ``required``, else ``None``. Blank or too long: 400.
        """
        value = self.param(name, strip=strip)
        if value is MISSING or value is None:
            if required:
                raise ApiError(400, errors.ERR_MISSING.format(name=name))
            return None
        if not isinstance(value, str):
            raise ApiError(400, errors.ERR_NOT_TEXT.format(name=name))
        if not value:
            raise ApiError(400, errors.ERR_BLANK.format(name=name.capitalize()))
        if len(value) > max_length:
            raise ApiError(400, errors.ERR_TOO_LONG.format(name=name, n=max_length))
        return value

    def date(self, name: str, *, required: bool = True) -> Any:
        """An ISO 8601 parameter as naive UTC; ``None`` if JSON null; 400 if malformed."""
        value = self.param(name)
        if value is MISSING:
            if required:
                raise ApiError(400, errors.ERR_MISSING.format(name=name))
            return MISSING
        if value is None:
            return None
        try:
            return parse_iso(value)
        except ValueError:
            raise ApiError(400, errors.ERR_BAD_DATE.format(name=name)) from None

    def object_id(self, name: str = "id", what: str = "Ticket") -> int:
        """A required id parameter (``"12"`` or ``12``); 400 if missing or malformed."""
        value = self.param(name)
        if value is MISSING or value is None or value == "":
            raise ApiError(400, errors.ERR_MISSING.format(name=name))
        return parse_id(value, what)

    # -- roles ------------------------------------------------------------------

    async def optional_identity(self) -> Identity | None:
        """The caller if they identified themselves (login optional); else ``None``."""
        self.identity = await self.ctx.identity.identify(self)
        return self.identity

    def require_organiser(self) -> None:
        """403 unless the (authenticated) caller is an organiser or an ngshare admin."""
        if not self.vivere.is_organiser(self.identity):
            raise ApiError(403, errors.ERR_NOT_ORGANISER)


def parse_id(value: Any, what: str) -> int:
    """A row key from a URL segment or parameter; 400 ``Invalid <what> ID`` otherwise."""
    if isinstance(value, bool):
        raise ApiError(400, errors.ERR_BAD_ID.format(what=what))
    if isinstance(value, int):
        text = str(value)
    elif isinstance(value, str):
        text = value.strip()
    else:
        raise ApiError(400, errors.ERR_BAD_ID.format(what=what))
    if not text.isascii() or not text.isdigit() or len(text) > 10 or int(text) > MAX_ID:
        raise ApiError(400, errors.ERR_BAD_ID.format(what=what))
    return int(text)


class VivereNotFoundHandler(VivereHandler):
    """Anything under the mount that no route matches: a 404 in Vivere's envelope."""

    @public
    async def get(self, *args: Any) -> None:
        raise ApiError(404, errors.ERR_NOT_FOUND)

    post = put = patch = delete = get
