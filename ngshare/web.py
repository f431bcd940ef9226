"""The base handler every API route uses, the core's and the plugins' alike.

It gives each feature set the same guarantees:

* every error, including 404, 405, 413 and 500, is JSON in the feature set's
  envelope (:meth:`APIHandler.error_envelope`), never an HTML page or a trace;
* request bodies are streamed: a body over ``max_body_bytes`` is refused with
  a 413 before it is read, and large bodies are parsed on a worker thread;
* identity is resolved once per request by the configured identity provider,
  in methods marked :func:`authenticated` (or deliberately :func:`public`);
  for a request with a body, before any of it is read whenever the provider
  can tell who is calling from the headers and the URL (an anonymous upload
  gets its 401 at once, without being received or written to disk);
* a body spooled to disk is released as soon as its connection closes, not
  when the garbage collector finds the abandoned request.

Only the IOLoop thread touches handlers; blocking work goes through
``self.ctx.run_blocking`` or ``self.ctx.db.run``.
"""

from __future__ import annotations

import functools
import io
import json
import logging
import re
import tempfile
from collections.abc import Awaitable, Callable, Iterator
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, TypeVar

from tornado import httputil, web

from ngshare import forms
from ngshare.linger import refuse_unread_body

if TYPE_CHECKING:
    from ngshare.auth import Identity
    from ngshare.context import ServerContext

log = logging.getLogger(__name__)

ERR_TOO_LARGE = "Request body too large"
ERR_BAD_JSON = "The request body must be JSON"
ERR_NOT_ADMIN = "Permission denied (not admin)"

#: Bodies up to this size are parsed on the IOLoop (by Tornado).
SMALL_BODY_BYTES = 64 * 1024
#: Bodies up to this size stay in memory and are indexed on a worker thread
#: (a submission's notebooks); larger ones are spooled to disk as they arrive.
MEMORY_BODY_BYTES = 2 * 1024 * 1024

F = TypeVar("F", bound=Callable[..., Awaitable[Any]])


class ApiError(web.HTTPError):
    """An error for the client: its message goes in the response as is.

    :arg status: HTTP status code.
    :arg message: the wire text (feature sets keep these in their errors.py).
    :arg extra: additional fields for envelopes that carry them.

    An :class:`~tornado.web.HTTPError`, so Tornado's own error path answers it
    (``send_error`` -> :meth:`APIHandler.write_error`) and logs nothing: it
    carries no ``log_message``; the reason phrase stays the standard one.
    """

    def __init__(self, status: int, message: str, **extra: Any) -> None:
        super().__init__(status)
        self.message = message
        self.extra = extra

    @property
    def status(self) -> int:
        """The HTTP status (Tornado's ``status_code``)."""
        return self.status_code

    def __str__(self) -> str:
        return self.message


def authenticated(method: F) -> F:
    """Mark a handler method as needing an identity; 401 JSON without one."""

    @functools.wraps(method)
    async def wrapper(self: APIHandler, *args: Any, **kwargs: Any) -> Any:
        await self.load_body()
        if not self._identified_before_body:
            self.identity = await self.ctx.identity.identify(self)
        if self.identity is None:
            raise ApiError(401, self.unauthenticated_message)
        return await method(self, *args, **kwargs)

    wrapper.ngshare_access = "authenticated"  # type: ignore[attr-defined]
    wrapper.ngshare_identify_before_body = True  # type: ignore[attr-defined]  # see prepare()
    return wrapper  # type: ignore[return-value]


def public(method: F) -> F:
    """Mark a handler method as deliberately open to anonymous callers."""

    @functools.wraps(method)
    async def wrapper(self: APIHandler, *args: Any, **kwargs: Any) -> Any:
        await self.load_body()
        return await method(self, *args, **kwargs)

    wrapper.ngshare_access = "public"  # type: ignore[attr-defined]
    return wrapper  # type: ignore[return-value]


@web.stream_request_body
class APIHandler(web.RequestHandler):
    """JSON API base: envelope, streamed body, size limit, identity.

    Subclasses set :attr:`error_envelope` for their feature set's error shape.
    URLSpec kwargs: ``ctx`` (the :class:`~ngshare.context.ServerContext`).
    """

    unauthenticated_message = "Authentication required"
    #: Only admins may call this route: a signed-in caller known before the
    #: body who is not one is refused (403) before the body is read. The
    #: handler still checks itself (requests without a body).
    admins_only = False
    #: The message of :meth:`json_body`'s 400; feature sets set their own wire text.
    bad_json_message = ERR_BAD_JSON
    identity: Identity | None = None

    def set_default_headers(self) -> None:
        self.clear_header("Server")  # the server's name and version are nobody's business

    def log_exception(self, typ: Any, value: BaseException | None, tb: Any) -> None:
        """Like Tornado's, but the request is named by method and path: query strings may
        carry tokens (``?token=``) or user names, and are never logged."""
        where = f"{self.request.method} {self.request.path} ({self.request.remote_ip})"
        if isinstance(value, web.HTTPError):
            if value.log_message:
                log.warning("%d %s: %s", value.status_code, where, value.get_message())
        else:
            log.error("Uncaught exception %s", where, exc_info=(typ, value, tb))

    def initialize(self, ctx: ServerContext, **kwargs: Any) -> None:
        self.ctx = ctx
        self._chunks: list[bytes] = []
        self._spool: Any = None  # temp file of a large body while it arrives
        self._body_size = 0
        self._form: forms.SpooledForm | None = None
        self._raw: bytes | None = None  # the body as sent, unless it was spooled
        self._json: Any = _UNPARSED
        self._identified_before_body = False

    # -- envelope -----------------------------------------------------------

    def error_envelope(self, status: int, message: str, extra: dict[str, Any]) -> dict:
        """The JSON body for an error; feature sets override this."""
        return {"success": False, "message": message, **extra}

    def compute_etag(self) -> str | None:
        """No ETags: hashing every (possibly 100 MB) API answer costs more than it saves."""
        return None

    async def send_bytes(self, body: bytes, content_type: str) -> None:
        """Send a prepared body without copying it (headers go out first, on their own).

        Tornado would otherwise join headers and body into one new buffer per
        request, so 32 students fetching a 10 MB release would hold 32 copies.
        """
        self.set_header("Content-Type", content_type)
        self.set_header("Content-Length", str(len(body)))
        await self.flush()
        self.finish(body)

    def write_json(self, obj: Any, status: int = 200) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json; charset=UTF-8")
        self.finish(json.dumps(obj, separators=(",", ":")))

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        exc = kwargs.get("exc_info", (None, None, None))[1]
        if isinstance(exc, ApiError):
            message, extra = exc.message, exc.extra
        elif isinstance(exc, web.HTTPError) and exc.reason:
            message, extra = exc.reason, {}
        else:
            try:
                message, extra = HTTPStatus(status_code).phrase, {}
            except ValueError:
                message, extra = "Error", {}
        self.set_header("Content-Type", "application/json; charset=UTF-8")
        self.clear_header("Content-Disposition")
        if status_code == 405:
            self.set_header("Allow", ", ".join(allowed_methods(type(self))))
        self.finish(json.dumps(self.error_envelope(status_code, message, extra)))

    # -- body ---------------------------------------------------------------

    @property
    def spool_dir(self) -> str | None:
        """Large bodies are spooled next to the blob store (same disk, not /tmp)."""
        return str(self.ctx.storage.tmp)

    @property
    def max_body_bytes(self) -> int:
        return self.ctx.config.max_body_bytes

    @property
    def memory_body_bytes(self) -> int:
        """Bodies up to this size stay in memory (and in :meth:`raw_body`); larger are spooled.

        A handler that needs the raw bytes of larger bodies (an image upload)
        raises it to its own limit.
        """
        return MEMORY_BODY_BYTES

    async def prepare(self) -> None:
        try:
            forms.check_field_count(self.request.query)
        except forms.FormError as e:
            raise ApiError(400, str(e)) from None
        length = self.request.headers.get("Content-Length")
        if length is not None:
            try:
                declared = int(length)
            except ValueError:
                raise ApiError(400, "Invalid Content-Length") from None
            if declared > self.max_body_bytes:
                envelope = self.error_envelope(413, ERR_TOO_LARGE, {})
                refuse_unread_body(self, 413, envelope)
                return
        # Above the limit data_received answers 413 itself; the connection's own
        # (higher) limit only stops a client that ignores that answer.
        self.request.connection.set_max_body_size(2 * self.max_body_bytes + (1 << 20))
        if self._has_body() and self._identifies_before_body():
            await self._identify_before_body()

    def _has_body(self) -> bool:
        headers = self.request.headers
        return "Transfer-Encoding" in headers or headers.get("Content-Length", "0") != "0"

    def _identifies_before_body(self) -> bool:
        """Is the method to run :func:`authenticated`, and the caller known without the body?"""
        method = getattr(self, self.request.method.lower(), None)  # type: ignore[union-attr]
        if not getattr(method, "ngshare_identify_before_body", False):
            return False
        return not self.ctx.identity.needs_body(self)

    async def _identify_before_body(self) -> None:
        """Identify the caller while the body waits; refuse at once, unread, if nobody.

        Nothing is received or spooled for an anonymous caller. The refusal is
        answered with a lingering close (:func:`~ngshare.linger.refuse_unread_body`)
        so that a client still sending its upload reads it rather than a reset.
        A signed-in caller's request goes on exactly as before: the body, then
        the handler's own checks in their usual order.
        """
        try:
            identity = await self.ctx.identity.identify(self)
        except ApiError as e:  # the hub cannot be reached (503), a token lacks a scope (403)
            refuse_unread_body(self, e.status, self.error_envelope(e.status, e.message, e.extra))
            return
        if identity is None:
            envelope = self.error_envelope(401, self.unauthenticated_message, {})
            refuse_unread_body(self, 401, envelope)
            return
        if self.admins_only and not identity.is_admin:
            refuse_unread_body(self, 403, self.error_envelope(403, ERR_NOT_ADMIN, {}))
            return
        self.identity = identity
        self._identified_before_body = True

    def data_received(self, chunk: bytes) -> None:
        if self._finished:
            return  # already refused (a chunked body grew too large); Tornado closes the connection
        self._body_size += len(chunk)
        if self._body_size > self.max_body_bytes:
            # a chunked body with no Content-Length grew too large: answer now
            self._release_body()
            self.set_header("Connection", "close")
            self.send_error(413, exc_info=(ApiError, ApiError(413, ERR_TOO_LARGE), None))
            return
        if self._spool is not None:
            self._spool.write(chunk)
            return
        self._chunks.append(chunk)
        if self._body_size > self.memory_body_bytes:
            self._spool = tempfile.TemporaryFile(prefix="ngshare-body-", dir=self.spool_dir)
            for c in self._chunks:
                self._spool.write(c)
            self._chunks = []

    async def load_body(self) -> None:
        """Parse the request body's form fields (once); large bodies off the loop.

        A large urlencoded body stays in its spool file; its big values are
        read back in pieces by :meth:`argument_chunks` (see :mod:`ngshare.forms`).
        """
        if self._form is not None:
            return
        try:
            await self._parse_body()
        except forms.FormError as e:
            self._form = forms.SpooledForm()  # nothing parsed: arguments come from the URL
            raise ApiError(400, str(e)) from None

    async def _parse_body(self) -> None:
        content_type = self.request.headers.get("Content-Type", "")
        if self._spool is not None:
            spool, self._spool = self._spool, None
            self._form = await self.ctx.run_blocking(forms.parse_spooled, content_type, spool)
        elif self._body_size > SMALL_BODY_BYTES:
            data, self._chunks = b"".join(self._chunks), []
            self._raw = data
            body = io.BytesIO(data)  # shares data's buffer, no copy
            if forms.is_urlencoded(content_type) and forms.has_few_fields(data):
                # a handful of fields (an upload): indexing them costs less than a
                # thread hand-off; the large value is decoded later, on a worker
                self._form = forms.parse_spooled(content_type, body)
            else:
                self._form = await self.ctx.run_blocking(forms.parse_spooled, content_type, body)
        else:
            body, self._chunks = b"".join(self._chunks), []
            self._raw = body
            self._form = forms.parse_small(content_type, body)
        if "_xsrf" in self._form.values:  # where Tornado's and JupyterHub's xsrf checks look
            self.request.body_arguments["_xsrf"] = self._form.values["_xsrf"]
            self.request.arguments.setdefault("_xsrf", []).extend(self._form.values["_xsrf"])

    @property
    def body_bytes_received(self) -> int:
        """Bytes of request body received (the upload volume the metrics count)."""
        return self._body_size

    @property
    def body_loaded(self) -> bool:
        """Has :meth:`load_body` run (are the form body's fields readable)?"""
        return self._form is not None

    def _release_body(self) -> None:
        """Drop the body received so far: its chunks, and its spool file (closed now)."""
        self._chunks = []
        if self._spool is not None:
            spool, self._spool = self._spool, None
            spool.close()

    def on_connection_close(self) -> None:
        """The client went away: release what its unfinished body holds, at once.

        A request whose body never completes never reaches its handler nor
        ``on_finish``; without this, its spool file (deleted, but open) would
        stay on disk until the garbage collector found the abandoned request.
        A complete body is the handler's to use (it runs even so) and is
        released by :meth:`on_finish`.
        """
        # Tornado's own on_connection_close reads the same future: a body still
        # arriving is abandoned there, and the handler method never runs
        arriving = getattr(self.request, "_body_future", None)
        abandoned = arriving is None or not arriving.done()
        super().on_connection_close()
        if abandoned:
            self._release_body()

    def on_finish(self) -> None:
        if self._form is not None:
            self._form.close()
        self._release_body()

    def raw_body(self) -> bytes:
        """The request body exactly as sent (for signature checks such as Twilio's).

        Bodies up to :attr:`memory_body_bytes` are kept; a larger one was
        spooled to disk for the form reader, and asking for it is a 413.
        """
        assert self._form is not None, "load_body() first"
        if self._raw is None:
            if self._body_size:
                raise ApiError(413, ERR_TOO_LARGE)
            return b""
        return self._raw

    def json_body(self) -> Any:
        """The request body parsed as JSON (once); ``None`` for an empty body.

        A body that is not valid UTF-8 JSON, or nests too deeply to parse, is a
        400 with :attr:`bad_json_message`; one over :attr:`memory_body_bytes`
        is a 413. The caller checks the shape (object, list) it expects.
        """
        if self._json is _UNPARSED:
            raw = self.raw_body()
            if not raw.strip():
                self._json = None
            else:
                try:
                    self._json = json.loads(raw)
                except (ValueError, UnicodeDecodeError, RecursionError):
                    raise ApiError(400, self.bad_json_message) from None
        return self._json

    def argument(self, name: str, default: str | None = None) -> str | None:
        """A form field from the body, else from the query string, else ``default``.

        Cleaned like Tornado's ``get_argument`` (control characters become
        spaces, surrounding whitespace goes), as ngshare's clients expect.
        """
        assert self._form is not None, "load_body() first"
        values = self._form.values.get(name)
        if values:
            return _CONTROL_CHARS.sub(" ", _decode(values[-1])).strip()
        if name in self._form.ranges:
            return b"".join(self._form.chunks(name)).decode("utf-8", "surrogateescape").strip()
        return self.get_query_argument(name, default)

    def argument_is_large(self, name: str) -> bool:
        """Is ``name`` a large body field (left in the spool file)?"""
        assert self._form is not None, "load_body() first"
        return name in self._form.ranges

    def argument_size(self, name: str) -> int:
        """Bytes of the body field ``name`` as sent (still percent-encoded); 0 if absent."""
        assert self._form is not None, "load_body() first"
        if name in self._form.ranges:
            start, end = self._form.ranges[name][-1]
            return end - start
        values = self._form.values.get(name)
        return len(values[-1]) if values else 0

    def argument_chunks(self, name: str) -> Iterator[bytes] | None:
        """A (possibly huge) form field as byte chunks: body first, then query string.

        The chunks read the spooled body: iterate them on a worker thread.
        """
        assert self._form is not None, "load_body() first"
        chunks = self._form.chunks(name)
        if chunks is not None:
            return chunks
        value = self.get_query_argument(name, None)
        return None if value is None else iter([value.encode("utf-8")])

    def check_xsrf_cookie(self) -> None:
        """Cookie-authenticated writes need an xsrf token; the identity provider checks it.

        Token-authenticated calls (every API client) are exempt.
        """
        self.ctx.identity.check_xsrf(self)


def allowed_methods(handler_class: type[web.RequestHandler]) -> list[str]:
    """The HTTP methods a handler class answers (for the ``Allow`` header of a 405)."""
    return [
        method.upper()
        for method in ("get", "head", "post", "put", "patch", "delete", "options")
        if getattr(handler_class, method) is not getattr(web.RequestHandler, method)
    ]


def answer_field_limits_in_json() -> None:
    """Let :class:`APIHandler` refuse over-long query strings itself, in JSON.

    Tornado (6.5.8 and newer) refuses a query string of more than 1000
    fields with a bare, empty 400 before any handler runs. Its limit is
    raised here (through its public, process-wide setting) so that
    :meth:`APIHandler.prepare` answers at :data:`ngshare.forms.MAX_FIELDS`
    instead, in the feature set's envelope; the header size limit still bounds
    what is parsed.
    """
    config = getattr(httputil, "ParseUrlEncodedConfig", None)
    if config is not None:
        httputil.set_parse_body_config(
            httputil.ParseBodyConfig(urlencoded=config(max_arguments=1 << 30))
        )


class NotFoundHandler(APIHandler):
    """Unknown routes under an API prefix: a JSON 404 in the core envelope."""

    @public
    async def get(self, *args: Any) -> None:
        raise ApiError(404, "Not found")

    post = put = delete = patch = get


_UNPARSED = object()
_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0e-\x1f]")


def _decode(value: bytes) -> str:
    return value.decode("utf-8", errors="surrogateescape")
