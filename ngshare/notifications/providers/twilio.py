"""SMS and WhatsApp through Twilio's Messaging API (``POST .../Accounts/{sid}/Messages.json``).

The REST call is one form POST with HTTP basic auth, on the provider's kept-alive
aiohttp session (:mod:`.http`): the ``twilio`` library would add a synchronous
HTTP stack (requests) and hide the ``Retry-After`` header and the error code
this provider needs to tell a passing failure from a dead number.

Outcomes: 201 -> delivered (the message's ``sid``); 429 and 5xx, timeouts and
refused connections -> retry (honouring ``Retry-After``); Twilio error codes of
a number that cannot receive (:data:`INVALID_RECIPIENT_CODES`) -> invalid;
any other 4xx -> failed, with Twilio's code and message.
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Mapping
from urllib.parse import quote, urlencode

import aiohttp
from traitlets import Integer, Unicode

from ngshare.notifications.providers.base import Outcome, Outgoing, parse_retry_after
from ngshare.notifications.providers.http import HttpProvider

#: Twilio error codes meaning "this address will never receive": invalid 'To'
#: number (21211), cannot route to it (21612), unsubscribed by STOP (21610), not
#: a mobile number (21614), a landline (30006), no WhatsApp user at it (63003).
INVALID_RECIPIENT_CODES = frozenset({21211, 21612, 21614, 21610, 30006, 63003})


class TwilioProvider(HttpProvider):
    """``sms`` and ``whatsapp`` through one Twilio account."""

    name = "twilio"
    channels = ("sms", "whatsapp")

    account_sid = Unicode("", help="The account SID (AC...).").tag(config=True)
    auth_token = Unicode("", help="The account's auth token (keep it out of version control).").tag(
        config=True
    )
    from_number = Unicode(
        "", help="Sender of SMS, E.164 (+15005550006); or set messaging_service_sid."
    ).tag(config=True)
    messaging_service_sid = Unicode(
        "", help="A Messaging Service SID (MG...) to send from instead of from_number."
    ).tag(config=True)
    whatsapp_from = Unicode(
        "", help="Sender of WhatsApp messages (whatsapp:+14155238886); default: from_number."
    ).tag(config=True)
    status_callback = Unicode("", help="Optional StatusCallback URL Twilio reports to.").tag(
        config=True
    )
    api_base_url = Unicode(
        "https://api.twilio.com", help="Twilio's API; a local stand-in's URL in tests."
    ).tag(config=True)
    max_batch = Integer(20, help="Messages per send() call, each its own request.").tag(config=True)

    def check(self) -> None:
        """Account SID, auth token, and a sender (number or messaging service) must be set."""
        missing = [n for n in ("account_sid", "auth_token") if not getattr(self, n)]
        if missing:
            raise ValueError(f"set c.TwilioProvider.{' and c.TwilioProvider.'.join(missing)}")
        if not (self.from_number or self.messaging_service_sid):
            raise ValueError("set c.TwilioProvider.from_number or .messaging_service_sid")

    def _form(self, m: Outgoing) -> dict[str, str]:
        form = {"To": m.to, "Body": m.body}
        if self.messaging_service_sid:
            form["MessagingServiceSid"] = self.messaging_service_sid
        elif m.channel == "whatsapp":
            sender = self.whatsapp_from or self.from_number
            form["From"] = sender if sender.startswith("whatsapp:") else f"whatsapp:{sender}"
        else:
            form["From"] = self.from_number
        if self.status_callback:
            form["StatusCallback"] = self.status_callback
        return form

    async def send(self, batch: list[Outgoing]) -> list[Outcome]:
        """One POST per message, all of the batch at once."""
        return list(await asyncio.gather(*(self._send_one(m) for m in batch)))

    async def _send_one(self, m: Outgoing) -> Outcome:
        url = (
            f"{self.api_base_url.rstrip('/')}/2010-04-01/Accounts/"
            f"{quote(self.account_sid, safe='')}/Messages.json"
        )
        credentials = base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        headers = {
            "Authorization": f"Basic {credentials}",
            "Content-Type": "application/x-www-form-urlencoded",
            "Accept": "application/json",
        }
        try:
            return outcome_of(*await self.post(url, data=urlencode(self._form(m)), headers=headers))
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as e:
            return Outcome.retry(f"Twilio unreachable: {type(e).__name__}: {e}")


def outcome_of(status: int, headers: Mapping[str, str], body: bytes) -> Outcome:
    """The :class:`Outcome` of one Twilio answer."""
    try:
        payload = json.loads(body or b"{}")
    except ValueError:
        payload = {}
    if not isinstance(payload, dict):
        payload = {}
    if 200 <= status < 300:
        return Outcome.delivered(str(payload.get("sid") or "") or None)
    code = payload.get("code")
    text = f"Twilio {status}" + (f" error {code}" if code else "")
    if payload.get("message"):
        text += f": {payload['message']}"
    if status == 429 or status >= 500:
        return Outcome.retry(text, parse_retry_after(headers.get("Retry-After")))
    if code in INVALID_RECIPIENT_CODES:
        return Outcome.invalid(text)
    return Outcome.failed(text)
