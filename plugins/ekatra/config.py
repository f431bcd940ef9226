"""Ekatra's settings: ``c.Ekatra.<trait>`` in ``ngshare_config.py`` (or ``--Ekatra.<trait>=``).

The core instantiates :class:`Ekatra` at start-up with the server as parent;
a bad value refuses start-up naming the plugin. The running instance is
``ctx.state(Ekatra)``.
"""

from __future__ import annotations

import os
import re

from traitlets import Float, Integer, Unicode, default, validate
from traitlets.config import Configurable

#: A real day.
DAY_SECONDS = 86_400


class Ekatra(Configurable):
    """Ekatra: courses delivered day by day over SMS and WhatsApp."""

    day_seconds = Integer(
        DAY_SECONDS,
        help="""Length of a course "day" in seconds, for demonstrations: with 120, a
        30-day course runs in an hour, and each learner's local time of day is
        kept as the same fraction of the shortened day. Deliveries keep the value
        they were made with. 10..86400.""",
    ).tag(config=True)

    @validate("day_seconds")
    def _validate_day_seconds(self, proposal):
        if not 10 <= proposal["value"] <= DAY_SECONDS:
            raise ValueError("day_seconds must be between 10 and 86400")
        return proposal["value"]

    late_after_seconds = Float(
        120.0,
        help="""A step handed to the notifications service more than this many
        seconds after it was due is recorded as late (after a restart, an outage
        or a pause).""",
    ).tag(config=True)

    send_batch = Integer(
        500,
        help="Learners advanced per transaction by the ekatra.send_due job.",
    ).tag(config=True)

    token_expiry_seconds = Float(
        7 * 86400.0,
        help="Lifetime of the tokens auth/login hands out (the original's 7 days).",
    ).tag(config=True)

    public_url = Unicode(
        help="""Scheme, host and port clients and Twilio use to reach this server
        (e.g. 'https://ekatra.example.org'), without the API prefix. It builds the
        reset links e-mailed by auth/forgot and the URL Twilio signatures cover.
        Empty: taken from each request.""",
    ).tag(config=True)

    @validate("public_url")
    def _validate_public_url(self, proposal):
        value = proposal["value"].rstrip("/")
        if value and not re.match(r"^https?://[^/]+$", value):
            raise ValueError(f"public_url must look like https://host[:port], not {value!r}")
        return value

    reset_link = Unicode(
        help="""Where auth/forgot's e-mail sends people, with '{token}' where the reset
        token goes (a page of your front end that POSTs to auth/reset/<token>).
        Empty: the API's own auth/reset/{token} URL.""",
    ).tag(config=True)

    @validate("reset_link")
    def _validate_reset_link(self, proposal):
        value = proposal["value"]
        if value and "{token}" not in value:
            raise ValueError("reset_link must contain '{token}'")
        return value

    twilio_auth_token = Unicode(
        help="""Twilio auth token that signs the inbound webhook (X-Twilio-Signature).
        Empty: every webhook call is refused. Default: $TWILIO_AUTH_TOKEN.""",
    ).tag(config=True)

    @default("twilio_auth_token")
    def _default_twilio_auth_token(self) -> str:
        return os.environ.get("TWILIO_AUTH_TOKEN", "")
