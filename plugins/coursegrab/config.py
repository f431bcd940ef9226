"""CourseGrab's settings: ``c.CourseGrab.<trait>`` in ``ngshare_config.py``.

The core instantiates :class:`CourseGrab` at start-up with the server as
parent, so a bad value refuses start-up with the plugin's name; the running
instance is ``ctx.state(CourseGrab)``.
"""

from __future__ import annotations

from traitlets import Bool, Dict, Float, Integer, List, Unicode, validate
from traitlets.config import Configurable

#: Device types a client names at session/initialize.
DEVICE_TYPES = ("ANDROID", "IOS", "WEB")

#: Google's issuer, as its ID tokens carry it (both spellings are in use).
GOOGLE_ISSUERS = ["https://accounts.google.com", "accounts.google.com"]
GOOGLE_JWKS_URL = "https://www.googleapis.com/oauth2/v3/certs"


class CourseGrab(Configurable):
    """CourseGrab: track course sections, get told the moment one opens."""

    roster_url = Unicode(
        "",
        help="""Base URL of a roster source speaking the Cornell Class Roster API
        (e.g. 'https://classes.cornell.edu/api/2.0'): GET config/rosters.json,
        config/subjects.json?roster=X, search/classes.json?roster=X&subject=Y.
        Empty: use roster_file, or no roster at all.""",
    ).tag(config=True)

    @validate("roster_url")
    def _validate_roster_url(self, proposal):
        value = proposal["value"].strip().rstrip("/")
        if value and not value.startswith(("http://", "https://")):
            raise ValueError(f"roster_url must be an http(s) URL, not {value!r}")
        return value

    roster_file = Unicode(
        "",
        help="""A JSON file holding a roster (see docs/coursegrab.md, "JSON roster
        file"); read at every ingest and poll, so editing it is a status change.
        Used when roster_url is empty.""",
    ).tag(config=True)

    roster_subjects = List(
        Unicode(),
        help="""Only these subjects of the HTTP roster (e.g. ['CS', 'MATH']); empty: every
        subject the roster lists.""",
    ).tag(config=True)

    roster_timeout_seconds = Float(30.0, help="Timeout of one request to the roster source.").tag(
        config=True
    )

    roster_min_interval_seconds = Float(
        0.0,
        help="""Pause between requests to the HTTP roster source (the Cornell API asks
        for at most one request per second: set 1.0 against it).""",
    ).tag(config=True)

    poll_interval_seconds = Integer(
        1200,
        help="""How often coursegrab.poll refreshes section statuses (the original's
        20 minutes, as requested by Cornell's IT).""",
    ).tag(config=True)

    @validate("poll_interval_seconds")
    def _validate_poll_interval(self, proposal):
        if proposal["value"] < 10:
            raise ValueError("poll_interval_seconds must be at least 10")
        return proposal["value"]

    session_expiry_seconds = Float(
        86400.0, help="Lifetime of a session token (the seed's one day)."
    ).tag(config=True)

    update_token_expiry_seconds = Float(
        90 * 86400.0,
        help="""Lifetime of an update token. The original's never expired; a device
        unused for this long signs in again.""",
    ).tag(config=True)

    oidc_providers = Dict(
        {},
        help="""The OpenID Connect issuer of each device type's ID tokens:
        {"IOS": {"issuer": ..., "jwks_url": ..., "audience": ...}, "ANDROID": ..., "WEB": ...}.
        issuer may be a list of accepted spellings; audience is the client id the
        token was issued to, or a list of them (required: a WEB token is checked
        too, unlike the original). A device type without an entry cannot sign in
        with an ID token. Google: issuer ["https://accounts.google.com",
        "accounts.google.com"], jwks_url "https://www.googleapis.com/oauth2/v3/certs".""",
    ).tag(config=True)

    @validate("oidc_providers")
    def _validate_oidc_providers(self, proposal):
        out = {}
        for device_type, entry in proposal["value"].items():
            if device_type not in DEVICE_TYPES:
                raise ValueError(f"oidc_providers: unknown device type {device_type!r}")
            if not isinstance(entry, dict):
                raise ValueError(f"oidc_providers[{device_type!r}] must be a dict")
            missing = {"issuer", "jwks_url", "audience"} - set(entry)
            if missing:
                raise ValueError(f"oidc_providers[{device_type!r}] needs {sorted(missing)}")
            issuers = entry["issuer"] if isinstance(entry["issuer"], list) else [entry["issuer"]]
            audience = entry["audience"]
            audiences = audience if isinstance(audience, list) else [audience]
            if not all(isinstance(a, str) and a for a in audiences) or not audiences:
                raise ValueError(f"oidc_providers[{device_type!r}]: audience must be set")
            out[device_type] = {
                "issuer": [str(i) for i in issuers],
                "jwks_url": str(entry["jwks_url"]),
                "audience": audiences,
            }
        return out

    jwks_refresh_seconds = Float(
        60.0,
        help="""An ID token signed by a key the cached key set lacks fetches the set
        again, at most this often per issuer (keys rotate; forged kids must not
        turn into a flood of requests).""",
    ).tag(config=True)

    jwks_max_age_seconds = Float(
        3600.0, help="A cached key set is fetched again after this long."
    ).tag(config=True)

    allowed_email_domains = List(
        Unicode(),
        help="""ID tokens must carry a verified e-mail address in one of these domains
        (the original: ['cornell.edu']); empty: any verified address.""",
    ).tag(config=True)

    allowed_emails = List(
        Unicode(), help="Addresses accepted whatever their domain (app store reviewers)."
    ).tag(config=True)

    oidc_user_prefix = Unicode(
        "oidc:",
        help="""People signed in with an ID token are the core user
        '<prefix><e-mail address>', kept apart from JupyterHub names so that no
        ID token can act as a hub user (or admin) of the same name.""",
    ).tag(config=True)

    search_index_enabled = Bool(
        True,
        help="""Match searches against an in-memory copy of the current term's course
        keys (rebuilt when a roster is ingested) instead of scanning the courses table
        with LIKE. Same answers; see docs/performance.md.""",
    ).tag(config=True)

    search_grams_enabled = Bool(
        True,
        help="""With search_index_enabled, also keep a table of every three-character
        piece of the course keys, so that a search checks only the courses holding its
        rarest piece instead of scanning every key (about 2.5 MB per 10 000 courses,
        built with each roster). Same answers; see docs/performance.md.""",
    ).tag(config=True)

    search_cache_enabled = Bool(
        True,
        help="""Answer searches without a session from memory: each course's JSON is
        serialised once per change and an answer joins the matching ones, with no
        database call. Needs search_index_enabled. See docs/performance.md.""",
    ).tag(config=True)

    search_cache_seconds = Float(
        1.0,
        help="""How often (seconds) the search cache checks the database for changes
        made by other replicas (a new roster, statuses, tracking counts). The check
        runs in the background while searches are answered from memory, so such a
        change shows within this time plus one check; a cache not checked for twice
        this time is checked before it answers. Changes made by this server are seen
        at once. 0 checks before every search.""",
    ).tag(config=True)

    search_limit = Integer(50, help="Most courses a search answers (the original's 50).").tag(
        config=True
    )
