"""Vivere's settings: ``c.Vivere.<trait>`` in ``ngshare_config.py`` (or ``--Vivere.<trait>=``).

The core instantiates :class:`Vivere` at start-up with the server as parent,
so a bad value refuses start-up with the plugin's name; the running instance
is ``ctx.state["vivere.config"]``.
"""

from __future__ import annotations

import os
import re
from datetime import datetime

from ngshare_vivere.clock import parse_iso
from traitlets import Float, Integer, List, Unicode, default, validate
from traitlets.config import Configurable

#: The four keys of ``GET times``, in the seed's order.
TIME_NAMES = ("event_start_time", "event_end_time", "hacking_start_time", "hacking_end_time")

_TIME_HELP = "Default of GET times' {} (ISO 8601; naive = UTC); organisers override it."

_PHONE_JUNK = re.compile(r"[\s().-]")


def normalize_phone(number: str) -> str:
    """``+1 (650) 555-0100`` -> ``+16505550100``: how numbers are compared."""
    return _PHONE_JUNK.sub("", number.strip())


class Vivere(Configurable):
    """MenloHacks Vivere: day-of-event information, announcements and a mentorship queue."""

    ticket_expiry_seconds = Float(
        1800.0,
        help="""An unclaimed mentorship ticket leaves the queue this many seconds
        after it was opened or re-opened (the seed's 30 minutes; the original
        server used 3600 from 2018 on).""",
    ).tag(config=True)

    @validate("ticket_expiry_seconds")
    def _validate_ticket_expiry_seconds(self, proposal):
        if proposal["value"] <= 0:
            raise ValueError("ticket_expiry_seconds must be positive")
        return proposal["value"]

    organisers = List(
        Unicode(),
        help="""Core user names that may use the organiser API (admin/...):
        hub or dev user names ('ada'), local accounts as 'local:<username>'.
        ngshare admins (c.NgShare.admins) are always organisers.""",
    ).tag(config=True)

    @validate("organisers")
    def _validate_organisers(self, proposal):
        return [n.strip() for v in proposal["value"] for n in v.split(",") if n.strip()]

    token_expiry_seconds = Float(
        7 * 86400.0,
        help="Lifetime of the tokens user/create and user/login hand out (the original's 7 days).",
    ).tag(config=True)

    max_map_image_bytes = Integer(
        5 * 1024 * 1024,
        help="Largest map image organisers may upload (PNG, JPEG, GIF or WebP).",
    ).tag(config=True)

    map_cache_seconds = Integer(
        300,
        help="""Cache-Control max-age of map images; clients revalidate with the
        ETag afterwards, so a replaced map shows within this time.""",
    ).tag(config=True)

    public_url = Unicode(
        help="""Scheme, host and port clients and Twilio use to reach this server
        (e.g. 'https://api.menlohacks.com'), without the API prefix. It builds the
        map URLs in Location objects and the URL Twilio signatures cover. Empty:
        taken from each request (its Host header and, behind a proxy, X-Forwarded-Proto).""",
    ).tag(config=True)

    @validate("public_url")
    def _validate_public_url(self, proposal):
        value = proposal["value"].rstrip("/")
        if value and not re.match(r"^https?://[^/]+$", value):
            raise ValueError(f"public_url must look like https://host[:port], not {value!r}")
        return value

    twilio_auth_token = Unicode(
        help="""Twilio auth token that signs the SMS webhook (X-Twilio-Signature).
        Empty: every webhook call is refused. Default: $TWILIO_AUTH_TOKEN.""",
    ).tag(config=True)

    @default("twilio_auth_token")
    def _default_twilio_auth_token(self) -> str:
        return os.environ.get("TWILIO_AUTH_TOKEN", "")

    twilio_account_sid = Unicode(
        help="""If set, the webhook also requires this AccountSid (what the original
        server checked instead of a signature). Default: $TWILIO_ACCOUNT_SID.""",
    ).tag(config=True)

    @default("twilio_account_sid")
    def _default_twilio_account_sid(self) -> str:
        return os.environ.get("TWILIO_ACCOUNT_SID", "")

    organiser_phone_numbers = List(
        Unicode(),
        help="""Phone numbers (E.164, e.g. '+16505550100') whose text messages to the
        Twilio number become announcements. Spaces, dashes and brackets are ignored.""",
    ).tag(config=True)

    @validate("organiser_phone_numbers")
    def _validate_organiser_phone_numbers(self, proposal):
        numbers = [normalize_phone(n) for v in proposal["value"] for n in v.split(",")]
        return [n for n in numbers if n]

    event_start_time = Unicode(
        "2017-03-18T00:15:00", help=_TIME_HELP.format("event_start_time")
    ).tag(config=True)
    event_end_time = Unicode("2017-03-19T02:00:00", help=_TIME_HELP.format("event_end_time")).tag(
        config=True
    )
    hacking_start_time = Unicode(
        "2017-03-18T02:00:00",
        help=_TIME_HELP.format("hacking_start_time"),
    ).tag(config=True)
    hacking_end_time = Unicode(
        "2017-03-19T00:00:00", help=_TIME_HELP.format("hacking_end_time")
    ).tag(config=True)

    @validate(*TIME_NAMES)
    def _validate_time(self, proposal):
        parse_iso(proposal["value"])  # ValueError refuses start-up
        return proposal["value"]

    def default_times(self) -> dict[str, datetime]:
        """The configured event times (organisers override them with PATCH admin/times)."""
        return {name: parse_iso(getattr(self, name)) for name in TIME_NAMES}

    def is_organiser(self, identity) -> bool:
        """ngshare admins and the listed user names."""
        return identity is not None and (identity.is_admin or identity.name in self.organisers)
