"""Android (and any Firebase client) push through FCM's HTTP v1 API, with service-account OAuth.

Each message is one ``POST {api_base_url}/v1/projects/{project_id}/messages:send``
with a bearer token from :class:`~ngshare.notifications.providers.fcm_auth.AccessToken`
(``google-auth``: the maintained way to sign the service account's grant),
over ``httpx`` (HTTP/2 to Google, one connection for many requests).

Outcomes: 200 -> delivered (the message ``name``); 404 or ``UNREGISTERED`` ->
invalid; 400 ``INVALID_ARGUMENT`` about the token -> invalid, about anything
else -> failed; 401 -> a new access token and one more try at once; 429
``RESOURCE_EXHAUSTED`` and 5xx (``UNAVAILABLE``, ``INTERNAL``), timeouts and
failed connections -> retry (honouring ``Retry-After``); other answers ->
failed with Google's status and message.

``httpx`` and ``google-auth`` are imported when the provider is configured:
a server without FCM does not load them.
"""

from __future__ import annotations

import asyncio
import json
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from traitlets import Integer, Unicode

from ngshare.notifications.providers.base import Outcome, Outgoing, Provider, parse_retry_after
from ngshare.notifications.providers.http import http2_client

if TYPE_CHECKING:
    import httpx

    from ngshare.notifications.providers.fcm_auth import AccessToken

FCM_ERROR_TYPE = "type.googleapis.com/google.firebase.fcm.v1.FcmError"
BAD_REQUEST_TYPE = "type.googleapis.com/google.rpc.BadRequest"


class FcmProvider(Provider):
    """``fcm``: notifications to app instances of one Firebase project."""

    name = "fcm"
    channels = ("fcm",)

    service_account_file = Unicode(
        "", help="Path of the service account's JSON key (Firebase console, Service accounts)."
    ).tag(config=True)
    service_account_info = Unicode(
        "", help="The service account's JSON text, instead of a file."
    ).tag(config=True)
    project_id = Unicode("", help="The Firebase project id; default: the service account's.").tag(
        config=True
    )
    api_base_url = Unicode(
        "https://fcm.googleapis.com", help="FCM's API; a local stand-in's URL in tests."
    ).tag(config=True)
    ca_file = Unicode("", help="CA bundle to verify the API with; default: the system's.").tag(
        config=True
    )
    max_batch = Integer(100, help="Messages per send() call, each its own request.").tag(
        config=True
    )

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._client: httpx.AsyncClient | None = None
        self._token: AccessToken | None = None

    def check(self) -> None:
        """A service account must be set and readable, and a project id known."""
        from ngshare.notifications.providers.fcm_auth import AccessToken, load_service_account

        if not (self.service_account_file or self.service_account_info):
            raise ValueError("set c.FcmProvider.service_account_file")
        credentials = load_service_account(
            file=self.service_account_file, info=self.service_account_info
        )
        if not self.project_id:
            if not credentials.project_id:
                raise ValueError("set c.FcmProvider.project_id (the service account names none)")
            self.project_id = credentials.project_id
        self._token = AccessToken(credentials, timeout=self.timeout_seconds)

    async def start(self) -> None:
        """The HTTP client; the access token is fetched by the first send."""
        if self._token is None:
            self.check()
        self._client = http2_client(self, self.ca_file)

    async def close(self) -> None:
        """Close the HTTP clients (FCM's, the token endpoint's)."""
        if self._client is not None:
            await self._client.aclose()
            self._client = None
        if self._token is not None:
            self._token.close()

    async def send(self, batch: list[Outgoing]) -> list[Outcome]:
        """Every message of the batch at once; one token fetch serves them all."""
        from google.auth.exceptions import RefreshError, TransportError

        if self._client is None:
            await self.start()
        assert self._token is not None
        try:
            await self._token.current()
        except (RefreshError, TransportError) as e:
            return [_token_outcome(e)] * len(batch)
        return list(await asyncio.gather(*(self._send_one(m) for m in batch)))

    def message(self, m: Outgoing) -> dict[str, Any]:
        """The v1 ``message``: token, notification (subject as title), ``data`` as strings.

        FCM takes only string values in ``data``: others go as their JSON.
        """
        notification = {"body": m.body}
        if m.subject:
            notification = {"title": m.subject, **notification}
        message: dict[str, Any] = {"token": m.to, "notification": notification}
        if m.data:
            message["data"] = {
                str(k): v if isinstance(v, str) else json.dumps(v, separators=(",", ":"))
                for k, v in m.data.items()
            }
        return {"message": message}

    async def _send_one(self, m: Outgoing) -> Outcome:
        import httpx
        from google.auth.exceptions import RefreshError, TransportError

        assert self._client is not None and self._token is not None
        url = (
            f"{self.api_base_url.rstrip('/')}/v1/projects/"
            f"{quote(self.project_id, safe='')}/messages:send"
        )
        body = json.dumps(self.message(m), ensure_ascii=False).encode()
        token = await self._token.current()
        for renewed in (False, True):
            headers = {"authorization": f"Bearer {token}", "content-type": "application/json"}
            try:
                response = await self._client.post(url, content=body, headers=headers)
            except httpx.TransportError as e:
                return Outcome.retry(f"FCM unreachable: {type(e).__name__}: {e}")
            if response.status_code == 401 and not renewed:
                try:
                    token = await self._token.refused(token)
                except (RefreshError, TransportError) as e:
                    return _token_outcome(e)
                continue
            return outcome_of(response)
        raise AssertionError("unreachable")


def _token_outcome(error: Exception) -> Outcome:
    """A failed token fetch: retried when Google says it may pass, else failed."""
    from google.auth.exceptions import RefreshError

    text = f"FCM access token: {error}"
    if isinstance(error, RefreshError) and not getattr(error, "retryable", False):
        return Outcome.failed(text)
    return Outcome.retry(text)


def _error(response: httpx.Response) -> tuple[str, str, str, list[dict]]:
    """Google's error: (status, FCM error code, message, details)."""
    try:
        payload = response.json()
    except ValueError:
        return "", "", response.text[:200], []
    error = payload.get("error") if isinstance(payload, dict) else None
    if not isinstance(error, dict):
        return "", "", "", []
    details = [d for d in error.get("details") or [] if isinstance(d, dict)]
    code = next((str(d.get("errorCode")) for d in details if d.get("@type") == FCM_ERROR_TYPE), "")
    return str(error.get("status") or ""), code, str(error.get("message") or ""), details


def _about_the_token(message: str, details: list[dict]) -> bool:
    """Whether an ``INVALID_ARGUMENT`` blames ``message.token`` (rather than, say, a data key)."""
    for d in details:
        if d.get("@type") == BAD_REQUEST_TYPE:
            for violation in d.get("fieldViolations") or []:
                if isinstance(violation, dict) and violation.get("field") == "message.token":
                    return True
    return "registration token" in message.lower()


def outcome_of(response: httpx.Response) -> Outcome:
    """The :class:`Outcome` of one FCM answer."""
    status = response.status_code
    if status == 200:
        try:
            name = response.json().get("name")
        except (ValueError, AttributeError):
            name = None
        return Outcome.delivered(str(name) if name else None)
    google_status, code, message, details = _error(response)
    text = f"FCM {status}" + "".join(f" {x}" for x in dict.fromkeys((google_status, code)) if x)
    if message:
        text += f": {message}"
    if status == 404 or code == "UNREGISTERED":
        return Outcome.invalid(text)
    if status == 429 or status >= 500:
        return Outcome.retry(text, parse_retry_after(response.headers.get("retry-after")))
    if status == 400 and _about_the_token(message, details):
        return Outcome.invalid(text)
    return Outcome.failed(text)
