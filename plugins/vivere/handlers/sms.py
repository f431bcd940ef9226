"""The SMS webhook: organisers text the event's Twilio number to make an announcement.

Twilio POSTs each incoming message as a form (``From``, ``Body``,
``MessageSid``, ``AccountSid``, ...) signed with ``X-Twilio-Signature``. A
message is accepted only when the signature is valid for this URL (see
:func:`~ngshare.plugin_api.verified_twilio_form`), the ``AccountSid`` matches when one is
configured, and ``From`` is one of ``c.Vivere.organiser_phone_numbers``;
anything else is refused with a 403 and logged — never with the token, the
signature or the message.

The reply is an empty TwiML document, so Twilio sends no text back.
"""

from __future__ import annotations

from ngshare_vivere import announcements, errors
from ngshare_vivere.config import normalize_phone
from ngshare_vivere.handlers.base import VivereHandler, is_storable
from ngshare_vivere.models import MAX_MESSAGE, SOURCE_SMS
from sqlalchemy.exc import IntegrityError

from ngshare.plugin_api import ApiError, WebhookRefused, public, verified_twilio_form

EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'


class SmsAnnouncementHandler(VivereHandler):
    """``vivere/sms/announcement``: POST from Twilio -> 200 ``text/xml`` ``<Response/>``.

    403 for a missing or wrong signature, a foreign AccountSid or a sender who
    is not an organiser; 400 for an empty message. A MessageSid seen before
    (Twilio retrying, or a replay) answers 200 and creates nothing.
    """

    def refuse(self, reason: str) -> None:
        self.ctx.log.warning(
            "vivere.sms: refused webhook from %s: %s", self.request.remote_ip, reason
        )
        raise ApiError(403, errors.ERR_SMS_REFUSED)

    @public
    async def post(self) -> None:
        settings = self.vivere
        try:
            params = verified_twilio_form(
                self,
                settings.twilio_auth_token,
                settings.public_url,
                setting="c.Vivere.twilio_auth_token",
            )
        except WebhookRefused as refused:
            self.refuse(str(refused))
        fields = dict(params)
        if settings.twilio_account_sid and fields.get("AccountSid") != settings.twilio_account_sid:
            self.refuse("AccountSid does not match c.Vivere.twilio_account_sid")
        sender = normalize_phone(fields.get("From", ""))
        if not sender or sender not in settings.organiser_phone_numbers:
            self.refuse("sender is not in c.Vivere.organiser_phone_numbers")
        message = fields.get("Body", "").strip()
        if not message:
            raise ApiError(400, errors.ERR_SMS_EMPTY)
        if len(message) > MAX_MESSAGE:
            raise ApiError(400, errors.ERR_TOO_LONG.format(name="Body", n=MAX_MESSAGE))
        sid = fields.get("MessageSid") or fields.get("SmsSid") or None
        for name, value in (("Body", message), ("MessageSid", sid or "")):
            if not is_storable(value):  # NUL: PostgreSQL would refuse the row
                raise ApiError(400, errors.ERR_BAD_CHARACTER.format(name=name))
        now = self.clock.now()
        try:
            _, created = await self.ctx.db.run(
                lambda session: announcements.create_announcement(
                    session,
                    self.ctx.events,
                    message=message,
                    time=now,
                    source=SOURCE_SMS,
                    created_by=sender,
                    now=now,
                    sms_sid=sid[:64] if sid else None,
                    push=self.ctx.notifications,
                )
            )
        except IntegrityError:  # the same MessageSid, concurrently
            created = False
        self.ctx.log.info(
            "vivere.sms: %s announcement from an organiser number",
            "created" if created else "duplicate MessageSid; no new",
        )
        self.set_header("Content-Type", "text/xml; charset=UTF-8")
        self.finish(EMPTY_TWIML)


handlers = [(r"sms/announcement/?", SmsAnnouncementHandler)]
