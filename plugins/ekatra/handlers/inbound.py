"""The inbound Twilio webhook: learners' replies by SMS or WhatsApp.

Point the Twilio number's "A message comes in" webhook (HTTP POST) at
``{public_url}{prefix}ekatra/twilio/inbound``. A request is accepted only with a
valid ``X-Twilio-Signature`` for this URL under ``c.Ekatra.twilio_auth_token``
(:func:`~ngshare.plugin_api.verified_twilio_form`, the core's one check);
anything else is a 403, logged without the token, the signature or the text.
The reply is an empty TwiML document, so Twilio sends nothing back.
"""

from __future__ import annotations

import re

from ngshare_ekatra import errors, replies
from ngshare_ekatra.handlers.base import EkatraHandler
from ngshare_ekatra.wire import is_storable
from sqlalchemy.exc import IntegrityError

from ngshare.plugin_api import ApiError, WebhookRefused, public, verified_twilio_form

EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'
_E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")


class TwilioInboundHandler(EkatraHandler):
    """``ekatra/twilio/inbound``: POST from Twilio -> 200 ``text/xml`` ``<Response/>``.

    403 for a missing or wrong signature (or no token configured); 400 for a
    signed request without a usable ``From``.
    """

    def refuse(self, reason: str) -> None:
        self.ctx.log.warning(
            "ekatra.inbound: refused webhook from %s: %s", self.request.remote_ip, reason
        )
        raise ApiError(403, errors.ERR_WEBHOOK_REFUSED)

    @public
    async def post(self) -> None:
        try:
            params = verified_twilio_form(
                self,
                self.settings_.twilio_auth_token,
                self.settings_.public_url,
                setting="c.Ekatra.twilio_auth_token",
            )
        except WebhookRefused as refused:
            self.refuse(str(refused))
        fields = dict(params)
        sender = fields.get("From", "").strip()
        channel = "whatsapp" if sender.startswith("whatsapp:") else "sms"
        phone = sender.removeprefix("whatsapp:")
        if not _E164.match(phone):
            raise ApiError(400, errors.ERR_BAD_PHONE)
        body = fields.get("Body", "")
        sid = fields.get("MessageSid") or fields.get("SmsSid") or None
        if not is_storable(body) or (sid is not None and not is_storable(sid)):
            raise ApiError(400, errors.ERR_BAD_CHARACTER.format(name="Body"))
        if body.strip():
            try:
                outcome = await self.ctx.db.run(
                    replies.record_reply, phone, channel, body, sid, self.clock.now()
                )
            except IntegrityError:  # the same reply (MessageSid) recorded concurrently
                outcome = "a reply recorded concurrently"
            self.ctx.log.info("ekatra.inbound: %s", outcome)
        self.set_header("Content-Type", "text/xml; charset=UTF-8")
        self.finish(EMPTY_TWIML)


handlers = [(r"twilio/inbound/?", TwilioInboundHandler)]
