"""Who may call what: the declared outcome of every operation of every feature set, per role.

Keys are operations ``(template, METHOD)`` as :mod:`tests.authz.routes` reads
them from the application. ``tests/test_authz_matrix.py`` fails when the
application serves an operation that is not here (a new route must declare
who may call it) or when an entry here is served by nobody.

Each :class:`Case` says what to send (built from the seeded :class:`World`)
and the status every role gets. The statuses are those of the feature sets'
documents: docs/exchange-api.md (exchange), docs/vivere.md (vivere),
docs/plugins.md and the core services' docstrings (core). A write that
succeeds may have changed the seeded objects, so the matrix seeds a new
generation before the next call, unless the case says ``keeps_seed``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tests.authz.world import (
    EKATRA_COURSE,
    EVENT,
    FEEDBACK_FILES,
    PASSWORD,
    RELEASE_FILES,
    ROLES,
    SUBMIT_FILES,
    TICKET,
    Req,
    World,
    roster_entry,
)
from tests.conftest import encode_files
from tests.plugins.vivere.images import png
from tests.standins.webpush import new_subscription_keys

#: A well-formed browser subscription (to a push service that is never called).
PUSH_SUBSCRIPTION = {
    "endpoint": "https://push.example.net/send/authz",
    "keys": new_subscription_keys()[1],
}
INSTRUCTORS = ("instructor", "co_instructor", "admin")
MEMBERS = ("student", "other_student", *INSTRUCTORS)
ORGANISERS = ("organiser", "admin")


def outcome(default: int, anonymous: int | None = None, **roles: int) -> dict[str, int]:
    """Every role's status: ``default`` unless named (``anonymous`` too, by default).

    A revoked token identifies nobody: that role gets what anonymous callers get.
    """
    unknown = set(roles) - set(ROLES)
    assert not unknown, f"unknown roles {unknown}"
    out = dict.fromkeys(ROLES, default)
    if anonymous is not None:
        out["anonymous"] = anonymous
    out["revoked"] = out["anonymous"]
    out.update(roles)
    return out


def only(*allowed: str, ok: int = 200, others: int = 403) -> dict[str, int]:
    """Signed-in ``allowed`` roles get ``ok``, other signed-in callers ``others``, anonymous 401."""
    return outcome(others, anonymous=401, **dict.fromkeys(allowed, ok))


def _ekatra_owner(ok: int = 200) -> dict[str, int]:
    """Ekatra rows of the instructor role: the owner and admins get ``ok``, the others a 404."""
    return outcome(404, anonymous=401, instructor=ok, admin=ok)


def signed_in(ok: int = 200) -> dict[str, int]:
    return outcome(ok, anonymous=401)


def everyone(status: int) -> dict[str, int]:
    return outcome(status)


@dataclass(frozen=True)
class Case:
    request: Callable[[World], Req]
    expect: dict[str, int]
    #: A success leaves the seeded objects as they were (so no new seeding is needed).
    keeps_seed: bool = False


def _files(files: dict[str, bytes]) -> dict[str, str]:
    return {"files": encode_files(files)}


def _person() -> dict[str, str]:
    return {"first_name": "First", "last_name": "Last", "email": "x@example.org"}


def _ca(w: World) -> str:
    return f"{w.course}/{w.assignment}"


#: Envelopes of errors, by feature set: a check of an error's parsed body.
def core_envelope(body: Any) -> bool:
    return (
        isinstance(body, dict)
        and body.get("success") is False
        and isinstance(body.get("message"), str)
        and bool(body["message"])
    )


def vivere_envelope(body: Any) -> bool:
    return (
        isinstance(body, dict)
        and set(body) == {"error", "success"}
        and body["success"] is False
        and isinstance(body["error"], dict)
        and set(body["error"]) == {"title", "message"}
        and bool(body["error"]["message"])
    )


def coursegrab_envelope(body: Any) -> bool:
    return (
        isinstance(body, dict)
        and set(body) == {"success", "data", "timestamp"}
        and body["success"] is False
        and isinstance(body["data"], dict)
        and isinstance(body["data"].get("errors"), list)
        and bool(body["data"]["errors"])
    )


def ekatra_envelope(body: Any) -> bool:
    return isinstance(body, dict) and set(body) == {"message"} and bool(body["message"])


def example_envelope(body: Any) -> bool:
    return isinstance(body, dict) and body.get("ok") is False and bool(body.get("error"))


ENVELOPES: dict[str, Callable[[Any], bool]] = {
    "core": core_envelope,
    "exchange": core_envelope,
    "vivere": vivere_envelope,
    "coursegrab": coursegrab_envelope,
    "ekatra": ekatra_envelope,
    "example": example_envelope,
}

#: Pages in the shared layout (ngshare/ui): their refusals are HTML pages, not an API
#: envelope. A form POST without its XSRF token is a 403 for every cookie or dev caller;
#: callers with an API token need none (no ambient credential to forge).
HTML_PAGES: set[str] = {
    "/api/ui/admin",
    "/api/ui/admin/jobs/{job_id}/run",
    "/api/ui/admin/notifications/{message_id}/retry",
    "/api/example/notes/page",
    "/api/ui",
    "/api/ui/admin/trash",
    "/api/ui/{course_id}",
    "/api/ui/{course_id}/{assignment_id}",
    "/api/ui/{course_id}/{assignment_id}/{student_id}",
    "/api/vivere/board",
    "/api/vivere/board/announcements",
}
#: What a form POST without an XSRF token gets: 403, anonymous callers 401.
NO_XSRF = {"anonymous": 401}

C = Case
CSS = "swagger-ui.css"  # a file of the packaged Swagger UI
TABLE: dict[tuple[str, str], Case] = {
    # -- core -------------------------------------------------------------------------------
    ("/healthz", "GET"): C(lambda w: Req("/healthz"), everyone(200)),
    ("/api/healthz", "GET"): C(lambda w: Req("healthz"), everyone(200)),
    ("/api/", "GET"): C(lambda w: Req(""), signed_in()),
    ("/api/*", "GET"): C(lambda w: Req("no/such/route"), everyone(404)),
    ("/api/*", "POST"): C(lambda w: Req("no/such/route"), everyone(404)),
    ("/api/*", "PUT"): C(lambda w: Req("no/such/route"), everyone(404)),
    ("/api/*", "PATCH"): C(lambda w: Req("no/such/route"), everyone(404)),
    ("/api/*", "DELETE"): C(lambda w: Req("no/such/route"), everyone(404)),
    ("/api/openapi.json", "GET"): C(lambda w: Req("openapi.json"), everyone(200)),
    ("/api/docs", "GET"): C(lambda w: Req("docs"), everyone(200)),
    ("/api/docs/static/{path}", "GET"): C(lambda w: Req(f"docs/static/{CSS}"), everyone(200)),
    ("/api/docs/static/{path}", "HEAD"): C(lambda w: Req(f"docs/static/{CSS}"), everyone(200)),
    ("/api/plugins", "GET"): C(lambda w: Req("plugins"), only("admin")),
    ("/api/metrics", "GET"): C(lambda w: Req("metrics"), only("admin"), keeps_seed=True),
    ("/api/jobs", "GET"): C(lambda w: Req("jobs"), only("admin")),
    ("/api/jobs/{job_id}/run", "POST"): C(
        lambda w: Req("jobs/exchange.purge_deleted/run"), only("admin"), keeps_seed=True
    ),
    ("/api/events/ws", "GET"): C(
        lambda w: Req("events/ws", query={"channel": "com.vivere.events"}, kind="ws"),
        signed_in(101),
    ),
    ("/api/events/sse", "GET"): C(
        lambda w: Req("events/sse", query={"channel": "com.vivere.events"}, kind="sse"),
        signed_in(200),
    ),
    # each caller sees and revokes only their own tokens
    ("/api/tokens", "GET"): C(lambda w: Req("tokens"), signed_in()),
    ("/api/tokens", "DELETE"): C(lambda w: Req("tokens"), signed_in()),
    ("/api/tokens/{token_id}", "DELETE"): C(
        lambda w: Req(f"tokens/{w.account_token_id}"), only("account", others=404)
    ),
    # notifications: admins see and retry messages; everyone manages their own addresses
    ("/api/notifications", "GET"): C(lambda w: Req("notifications"), only("admin")),
    ("/api/notifications/{message_id}/retry", "POST"): C(
        lambda w: Req("notifications/999999/retry"), only("admin", ok=404)
    ),
    ("/api/notifications/addresses", "GET"): C(
        lambda w: Req("notifications/addresses"), signed_in()
    ),
    ("/api/notifications/addresses", "POST"): C(
        lambda w: Req(
            "notifications/addresses", form={"channel": "email", "address": "x@example.org"}
        ),
        signed_in(201),
        keeps_seed=True,
    ),
    ("/api/notifications/addresses/{address_id}", "DELETE"): C(
        lambda w: Req("notifications/addresses/999999"), signed_in(404)
    ),
    ("/api/notifications/preferences", "GET"): C(
        lambda w: Req("notifications/preferences"), signed_in()
    ),
    ("/api/notifications/preferences", "POST"): C(
        lambda w: Req("notifications/preferences", form={"channel": "email", "enabled": "false"}),
        signed_in(),
        keeps_seed=True,
    ),
    # Web Push: the key is public (the webpush channel goes to the log provider under vngshare)
    ("/api/notifications/vapid-public-key", "GET"): C(
        lambda w: Req("notifications/vapid-public-key"), everyone(200)
    ),
    ("/api/notifications/webpush-subscriptions", "POST"): C(
        lambda w: Req("notifications/webpush-subscriptions", json=PUSH_SUBSCRIPTION),
        signed_in(201),
        keeps_seed=True,
    ),
    ("/api/notifications/webpush-subscriptions", "DELETE"): C(
        lambda w: Req(
            "notifications/webpush-subscriptions",
            query={"endpoint": "https://push.example.net/send/never-registered"},
        ),
        signed_in(404),
    ),
    # web pages (ngshare/ui): the admin console; its buttons without an XSRF token are refused
    ("/api/ui/admin", "GET"): C(lambda w: Req("ui/admin"), only("admin")),
    ("/api/ui/admin/jobs/{job_id}/run", "POST"): C(
        lambda w: Req("ui/admin/jobs/exchange.purge_deleted/run"), outcome(403, **NO_XSRF)
    ),
    ("/api/ui/admin/notifications/{message_id}/retry", "POST"): C(
        lambda w: Req("ui/admin/notifications/999999/retry"), outcome(403, **NO_XSRF)
    ),
    ("/api/static/core/{path}", "GET"): C(lambda w: Req("static/core/ngshare.css"), everyone(200)),
    ("/api/static/core/{path}", "HEAD"): C(lambda w: Req("static/core/ngshare.js"), everyone(200)),
    # only behind JupyterHub (test_hub_routes_are_declared); no code: nothing to sign in with
    ("/api/oauth_callback", "GET"): C(lambda w: Req("oauth_callback"), everyone(400)),
    # exchange pages: a student sees their own course view and row, instructors everything
    ("/api/ui", "GET"): C(lambda w: Req("ui/"), signed_in(), keeps_seed=True),
    ("/api/static/exchange/{path}", "GET"): C(
        lambda w: Req("static/exchange/exchange.css"), everyone(200)
    ),
    ("/api/static/exchange/{path}", "HEAD"): C(
        lambda w: Req("static/exchange/exchange.css"), everyone(200)
    ),
    ("/api/ui/admin/trash", "GET"): C(lambda w: Req("ui/admin/trash"), only("admin")),
    ("/api/ui/admin/trash", "POST"): C(
        lambda w: Req("ui/admin/trash", form={"kind": "course", "id": "1"}),
        outcome(403, **NO_XSRF),
    ),
    ("/api/ui/{course_id}", "GET"): C(lambda w: Req(f"ui/{w.course}/"), only(*MEMBERS)),
    ("/api/ui/{course_id}/{assignment_id}", "GET"): C(
        lambda w: Req(f"ui/{_ca(w)}"), only(*INSTRUCTORS)
    ),
    ("/api/ui/{course_id}/{assignment_id}/{student_id}", "GET"): C(
        lambda w: Req(f"ui/{_ca(w)}/s1"), only(*INSTRUCTORS, "student")
    ),
    # -- exchange (docs/exchange-api.md; admins count as instructors of every course) ---------
    ("/api/courses", "GET"): C(lambda w: Req("courses"), signed_in()),
    ("/api/course/{course_id}", "POST"): C(
        lambda w: Req(f"course/{w.fresh('course')}"), only("admin"), keeps_seed=True
    ),
    ("/api/course/{course_id}", "DELETE"): C(lambda w: Req(f"course/{w.course}"), only("admin")),
    ("/api/instructor/{course_id}/{instructor_id}", "GET"): C(
        lambda w: Req(f"instructor/{w.course}/kevin"), only(*MEMBERS)
    ),
    # an instructor may change their own names (not a co-instructor's); admins anyone's
    ("/api/instructor/{course_id}/{instructor_id}", "POST"): C(
        lambda w: Req(f"instructor/{w.course}/kevin", form=_person()),
        only("instructor", "admin"),
        keeps_seed=True,
    ),
    ("/api/instructor/{course_id}/{instructor_id}", "DELETE"): C(
        lambda w: Req(f"instructor/{w.course}/kevin"), only("admin")
    ),
    ("/api/instructors/{course_id}", "GET"): C(
        lambda w: Req(f"instructors/{w.course}"), only(*MEMBERS)
    ),
    ("/api/student/{course_id}/{student_id}", "GET"): C(
        lambda w: Req(f"student/{w.course}/s1"), only(*INSTRUCTORS, "student")
    ),
    ("/api/student/{course_id}/{student_id}", "POST"): C(
        lambda w: Req(f"student/{w.course}/s1", form=_person()), only(*INSTRUCTORS), keeps_seed=True
    ),
    ("/api/student/{course_id}/{student_id}", "DELETE"): C(
        lambda w: Req(f"student/{w.course}/s1"), only(*INSTRUCTORS)
    ),
    ("/api/students/{course_id}", "GET"): C(
        lambda w: Req(f"students/{w.course}"), only(*INSTRUCTORS)
    ),
    ("/api/students/{course_id}", "POST"): C(
        lambda w: Req(f"students/{w.course}", form={"students": json.dumps([roster_entry("s3")])}),
        only(*INSTRUCTORS),
        keeps_seed=True,
    ),
    ("/api/assignments/{course_id}", "GET"): C(
        lambda w: Req(f"assignments/{w.course}"), only(*MEMBERS)
    ),
    ("/api/assignment/{course_id}/{assignment_id}", "GET"): C(
        lambda w: Req(f"assignment/{_ca(w)}"), only(*MEMBERS)
    ),
    ("/api/assignment/{course_id}/{assignment_id}", "POST"): C(
        lambda w: Req(f"assignment/{w.course}/{w.fresh('a')}", form=_files(RELEASE_FILES)),
        only(*INSTRUCTORS),
        keeps_seed=True,
    ),
    ("/api/assignment/{course_id}/{assignment_id}", "DELETE"): C(
        lambda w: Req(f"assignment/{_ca(w)}"), only(*INSTRUCTORS)
    ),
    ("/api/submissions/{course_id}/{assignment_id}", "GET"): C(
        lambda w: Req(f"submissions/{_ca(w)}"), only(*INSTRUCTORS)
    ),
    ("/api/submissions/{course_id}/{assignment_id}/{student_id}", "GET"): C(
        lambda w: Req(f"submissions/{_ca(w)}/s1"), only(*INSTRUCTORS, "student")
    ),
    ("/api/submission/{course_id}/{assignment_id}", "POST"): C(
        lambda w: Req(f"submission/{_ca(w)}", form=_files(SUBMIT_FILES)),
        only(*MEMBERS),
        keeps_seed=True,
    ),
    # downloading a submission is for instructors only, the student's own included
    ("/api/submission/{course_id}/{assignment_id}/{student_id}", "GET"): C(
        lambda w: Req(f"submission/{_ca(w)}/s1"), only(*INSTRUCTORS)
    ),
    ("/api/feedback/{course_id}/{assignment_id}/{student_id}", "GET"): C(
        lambda w: Req(f"feedback/{_ca(w)}/s1", query={"timestamp": w.timestamp}),
        only(*INSTRUCTORS, "student"),
    ),
    ("/api/feedback/{course_id}/{assignment_id}/{student_id}", "POST"): C(
        lambda w: Req(
            f"feedback/{_ca(w)}/s1", form={"timestamp": w.timestamp, **_files(FEEDBACK_FILES)}
        ),
        only(*INSTRUCTORS),
        keeps_seed=True,
    ),
    # -- vivere (docs/vivere.md) ----------------------------------------------------------------
    ("/api/vivere/", "GET"): C(lambda w: Req("vivere/"), everyone(200)),
    # the live board (a page): anyone signed in; its form needs the XSRF token (and an organiser)
    ("/api/vivere/board", "GET"): C(lambda w: Req("vivere/board"), signed_in()),
    ("/api/vivere/board/announcements", "POST"): C(
        lambda w: Req("vivere/board/announcements", form={"message": "hello"}),
        outcome(403, **NO_XSRF),
    ),
    ("/api/static/vivere/{path}", "GET"): C(lambda w: Req("static/vivere/board.js"), everyone(200)),
    ("/api/static/vivere/{path}", "HEAD"): C(
        lambda w: Req("static/vivere/board.css"), everyone(200)
    ),
    ("/api/vivere/*", "GET"): C(lambda w: Req("vivere/no/such/route"), everyone(404)),
    ("/api/vivere/*", "POST"): C(lambda w: Req("vivere/no/such/route"), everyone(404)),
    ("/api/vivere/*", "PUT"): C(lambda w: Req("vivere/no/such/route"), everyone(404)),
    ("/api/vivere/*", "PATCH"): C(lambda w: Req("vivere/no/such/route"), everyone(404)),
    ("/api/vivere/*", "DELETE"): C(lambda w: Req("vivere/no/such/route"), everyone(404)),
    ("/api/vivere/times", "GET"): C(lambda w: Req("vivere/times"), everyone(200)),
    ("/api/vivere/maps", "GET"): C(lambda w: Req("vivere/maps"), everyone(200)),
    ("/api/vivere/location/image/{location_id}", "GET"): C(
        lambda w: Req(f"vivere/location/image/{w.location_id}"), everyone(200)
    ),
    ("/api/vivere/announcements", "GET"): C(lambda w: Req("vivere/announcements"), everyone(200)),
    ("/api/vivere/events", "GET"): C(lambda w: Req("vivere/events"), everyone(200)),
    ("/api/vivere/announcements/push-subscription", "POST"): C(
        lambda w: Req("vivere/announcements/push-subscription", json=PUSH_SUBSCRIPTION),
        signed_in(201),
        keeps_seed=True,
    ),
    ("/api/vivere/announcements/push-subscription", "DELETE"): C(
        lambda w: Req(
            "vivere/announcements/push-subscription",
            query={"endpoint": "https://push.example.net/send/never-registered"},
        ),
        signed_in(404),
    ),
    ("/api/vivere/user/create", "POST"): C(
        lambda w: Req(
            "vivere/user/create",
            json={"name": "New", "username": w.fresh("new"), "password": PASSWORD},
        ),
        everyone(201),
        keeps_seed=True,
    ),
    ("/api/vivere/user/login", "POST"): C(
        lambda w: Req("vivere/user/login", json={"username": w.account, "password": PASSWORD}),
        everyone(200),
        keeps_seed=True,
    ),
    ("/api/vivere/mentorship/create", "POST"): C(
        lambda w: Req("vivere/mentorship/create", json=TICKET), signed_in(201), keeps_seed=True
    ),
    ("/api/vivere/mentorship/queue", "GET"): C(
        lambda w: Req("vivere/mentorship/queue"), everyone(200)
    ),
    ("/api/vivere/mentorship/user/queue", "GET"): C(
        lambda w: Req("vivere/mentorship/user/queue"), signed_in()
    ),
    ("/api/vivere/mentorship/user/claimed", "GET"): C(
        lambda w: Req("vivere/mentorship/user/claimed"), signed_in()
    ),
    # anyone signed in may claim an open ticket, except its own mentee
    ("/api/vivere/mentorship/claim", "POST"): C(
        lambda w: Req("vivere/mentorship/claim", json={"id": w.ticket_open}),
        outcome(200, anonymous=401, student=403),
    ),
    # only the mentee and the mentor may re-open or close a claimed ticket
    ("/api/vivere/mentorship/reopen", "POST"): C(
        lambda w: Req("vivere/mentorship/reopen", json={"id": w.ticket_claimed}),
        only("student", "mentor"),
    ),
    ("/api/vivere/mentorship/close", "POST"): C(
        lambda w: Req("vivere/mentorship/close", json={"id": w.ticket_claimed}),
        only("student", "mentor"),
    ),
    ("/api/vivere/admin/events", "POST"): C(
        lambda w: Req("vivere/admin/events", json=EVENT), only(*ORGANISERS, ok=201), keeps_seed=True
    ),
    ("/api/vivere/admin/events/{event_id}", "PATCH"): C(
        lambda w: Req(f"vivere/admin/events/{w.event_id}", json={"short_description": "Moved"}),
        only(*ORGANISERS),
        keeps_seed=True,
    ),
    ("/api/vivere/admin/events/{event_id}", "DELETE"): C(
        lambda w: Req(f"vivere/admin/events/{w.event_id}"), only(*ORGANISERS)
    ),
    ("/api/vivere/admin/locations", "GET"): C(
        lambda w: Req("vivere/admin/locations"), only(*ORGANISERS)
    ),
    ("/api/vivere/admin/locations", "POST"): C(
        lambda w: Req("vivere/admin/locations", json={"name": "Annex"}),
        only(*ORGANISERS, ok=201),
        keeps_seed=True,
    ),
    ("/api/vivere/admin/locations/{location_id}", "PATCH"): C(
        lambda w: Req(f"vivere/admin/locations/{w.location_id}", json={"name": "Main hall"}),
        only(*ORGANISERS),
        keeps_seed=True,
    ),
    ("/api/vivere/admin/locations/{location_id}", "DELETE"): C(
        lambda w: Req(f"vivere/admin/locations/{w.location_id}"), only(*ORGANISERS)
    ),
    ("/api/vivere/admin/locations/{location_id}/map", "PUT"): C(
        lambda w: Req(f"vivere/admin/locations/{w.location_id}/map", body=png(2, 2)),
        only(*ORGANISERS),
        keeps_seed=True,
    ),
    ("/api/vivere/admin/locations/{location_id}/map", "DELETE"): C(
        lambda w: Req(f"vivere/admin/locations/{w.location_id}/map"), only(*ORGANISERS)
    ),
    ("/api/vivere/admin/announcements", "GET"): C(
        lambda w: Req("vivere/admin/announcements"), only(*ORGANISERS)
    ),
    ("/api/vivere/admin/announcements", "POST"): C(
        lambda w: Req("vivere/admin/announcements", json={"message": "Lunch"}),
        only(*ORGANISERS, ok=201),
        keeps_seed=True,
    ),
    ("/api/vivere/admin/announcements/{announcement_id}", "PATCH"): C(
        lambda w: Req(
            f"vivere/admin/announcements/{w.announcement_id}", json={"message": "Dinner"}
        ),
        only(*ORGANISERS),
        keeps_seed=True,
    ),
    ("/api/vivere/admin/announcements/{announcement_id}", "DELETE"): C(
        lambda w: Req(f"vivere/admin/announcements/{w.announcement_id}"), only(*ORGANISERS)
    ),
    ("/api/vivere/admin/times", "PATCH"): C(
        lambda w: Req("vivere/admin/times", json={"hacking_end_time": "2030-03-19T00:00:00Z"}),
        only(*ORGANISERS),
        keeps_seed=True,
    ),
    # a Twilio webhook: no identity counts, only a valid signature (none is configured here)
    ("/api/vivere/sms/announcement", "POST"): C(
        lambda w: Req("vivere/sms/announcement", form={"From": "+16505550100", "Body": "Hi"}),
        everyone(403),
    ),
    # -- coursegrab (docs/coursegrab.md); no roster is configured here, so no section exists ----
    **{
        ("/api/coursegrab/*", method): C(lambda w: Req("coursegrab/no/such/route"), everyone(404))
        for method in ("GET", "POST", "PUT", "PATCH", "DELETE")
    },
    # dev and hub identities sign in; a core token (a session among them) cannot mint another
    ("/api/coursegrab/session/initialize", "POST"): C(
        lambda w: Req("coursegrab/session/initialize", json={"device_type": "WEB"}),
        outcome(200, anonymous=401, account=401, impostor=401),
        keeps_seed=True,
    ),
    # only an update token refreshes: no one of the matrix holds one
    ("/api/coursegrab/session/update", "POST"): C(
        lambda w: Req("coursegrab/session/update", json={}), everyone(401)
    ),
    ("/api/coursegrab/users/tracking", "GET"): C(
        lambda w: Req("coursegrab/users/tracking"), signed_in()
    ),
    # a device token belongs to a CourseGrab session: no one of the matrix has one
    ("/api/coursegrab/users/device-token", "POST"): C(
        lambda w: Req("coursegrab/users/device-token", json={"device_token": "t"}), everyone(401)
    ),
    ("/api/coursegrab/users/notification", "POST"): C(
        lambda w: Req("coursegrab/users/notification", json={"notification": "NONE"}),
        signed_in(),
        keeps_seed=True,
    ),
    ("/api/coursegrab/sections/track", "POST"): C(
        lambda w: Req("coursegrab/sections/track", json={"course_id": 1}), signed_in(404)
    ),
    ("/api/coursegrab/sections/untrack", "POST"): C(
        lambda w: Req("coursegrab/sections/untrack", json={"course_id": 1}), signed_in(404)
    ),
    # open to everyone; credentials that identify nobody are a 401
    ("/api/coursegrab/courses/search", "POST"): C(
        lambda w: Req("coursegrab/courses/search", json={"query": "cs"}), outcome(200, revoked=401)
    ),
    ("/api/coursegrab/courses/{course_id}", "GET"): C(
        lambda w: Req("coursegrab/courses/1"), outcome(404, revoked=401)
    ),
    # -- example (tests/plugins/example_dist, when installed) -----------------------------------
    ("/api/example/notes", "GET"): C(lambda w: Req("example/notes"), everyone(200)),
    ("/api/example/notes/page", "GET"): C(lambda w: Req("example/notes/page"), signed_in()),
    # a form without its XSRF token is refused; API-token callers need none (303 back)
    ("/api/example/notes/page", "POST"): C(
        lambda w: Req("example/notes/page", form={"text": "hello"}),
        outcome(403, **NO_XSRF, account=303, impostor=303),
        keeps_seed=True,
    ),
    ("/api/static/example/{path}", "GET"): C(
        lambda w: Req("static/example/notes.css"), everyone(200)
    ),
    ("/api/static/example/{path}", "HEAD"): C(
        lambda w: Req("static/example/notes.css"), everyone(200)
    ),
    ("/api/example/notes", "POST"): C(
        lambda w: Req("example/notes", form={"text": "hello"}), signed_in(201), keeps_seed=True
    ),
    # -- ekatra (docs/ekatra.md): owners and admins see their rows; others get a 404 -------------
    **{
        ("/api/ekatra/*", m): C(lambda w: Req("ekatra/no/such/route"), everyone(404))
        for m in ("GET", "POST", "PUT", "PATCH", "DELETE")
    },
    ("/api/ekatra/auth/signup", "POST"): C(
        lambda w: Req(
            "ekatra/auth/signup",
            json={"email": w.fresh("ek") + "@example.org", "password": PASSWORD},
        ),
        everyone(200),
        keeps_seed=True,
    ),
    ("/api/ekatra/auth/login", "POST"): C(
        lambda w: Req("ekatra/auth/login", json={"email": w.ekatra_email, "password": PASSWORD}),
        everyone(200),
        keeps_seed=True,
    ),
    ("/api/ekatra/auth/forgot", "POST"): C(
        lambda w: Req("ekatra/auth/forgot", json={"email": w.ekatra_email}),
        everyone(200),
        keeps_seed=True,
    ),
    ("/api/ekatra/auth/reset/{token}", "POST"): C(
        lambda w: Req(
            "ekatra/auth/reset/made-up",
            json={"password": "new password", "confirm_password": "new password"},
        ),
        everyone(403),
        keeps_seed=True,
    ),
    ("/api/ekatra/course", "GET"): C(lambda w: Req("ekatra/course/"), signed_in(), keeps_seed=True),
    ("/api/ekatra/course", "POST"): C(
        lambda w: Req("ekatra/course/", json=EKATRA_COURSE), signed_in(), keeps_seed=True
    ),
    ("/api/ekatra/course/{course_id}", "GET"): C(
        lambda w: Req(f"ekatra/course/{w.ekatra_course}"), _ekatra_owner(), keeps_seed=True
    ),
    ("/api/ekatra/course/{course_id}", "PUT"): C(
        lambda w: Req(f"ekatra/course/{w.ekatra_course}", json={"author": "Ann"}),
        _ekatra_owner(),
        keeps_seed=True,
    ),
    ("/api/ekatra/course/{course_id}", "DELETE"): C(
        lambda w: Req(f"ekatra/course/{w.ekatra_course}"), _ekatra_owner()
    ),
    ("/api/ekatra/course/{c_id}/{day}", "PUT"): C(
        lambda w: Req(f"ekatra/course/{w.ekatra_course}/1", json={"text": "Day one again"}),
        _ekatra_owner(),
        keeps_seed=True,
    ),
    ("/api/ekatra/course/{c_id}/{day}", "DELETE"): C(
        lambda w: Req(f"ekatra/course/{w.ekatra_course}/1"), _ekatra_owner()
    ),
    ("/api/ekatra/course/{c_id}/{day}/{q_id}", "PUT"): C(
        lambda w: Req(f"ekatra/course/{w.ekatra_course}/1/1", json={"correct_answer": "four"}),
        _ekatra_owner(),
        keeps_seed=True,
    ),
    ("/api/ekatra/course/{c_id}/{day}/{q_id}", "DELETE"): C(
        lambda w: Req(f"ekatra/course/{w.ekatra_course}/1/1"), _ekatra_owner()
    ),
    ("/api/ekatra/group", "GET"): C(lambda w: Req("ekatra/group/"), signed_in(), keeps_seed=True),
    ("/api/ekatra/group", "POST"): C(
        lambda w: Req("ekatra/group/", json={"name": "New"}), signed_in(), keeps_seed=True
    ),
    ("/api/ekatra/group/{group_id}", "GET"): C(
        lambda w: Req(f"ekatra/group/{w.ekatra_group}"), _ekatra_owner(), keeps_seed=True
    ),
    ("/api/ekatra/group/{group_id}", "PUT"): C(
        lambda w: Req(f"ekatra/group/{w.ekatra_group}", json={"description": "d"}),
        _ekatra_owner(),
        keeps_seed=True,
    ),
    ("/api/ekatra/group/{group_id}", "DELETE"): C(
        lambda w: Req(f"ekatra/group/{w.ekatra_group}"), _ekatra_owner()
    ),
    ("/api/ekatra/group/{g_id}/{s_id}", "PUT"): C(
        lambda w: Req(
            f"ekatra/group/{w.ekatra_group}/{w.ekatra_learner}",
            json={"name": "Lee", "number": "+919380169981", "channel": "whatsapp"},
        ),
        _ekatra_owner(),
    ),
    ("/api/ekatra/group/{g_id}/{s_id}", "DELETE"): C(
        lambda w: Req(f"ekatra/group/{w.ekatra_group}/{w.ekatra_learner}"), _ekatra_owner()
    ),
    ("/api/ekatra/delivery/group/{g_id}/{c_id}", "POST"): C(
        lambda w: Req(
            f"ekatra/delivery/group/{w.ekatra_group}/{w.ekatra_course}",
            json={"schedule_at": "2100-01-01 09:00", "timezone": "Asia/Kolkata"},
        ),
        _ekatra_owner(),
    ),
    ("/api/ekatra/retrieve-deliveries", "GET"): C(
        lambda w: Req("ekatra/retrieve-deliveries"), signed_in(), keeps_seed=True
    ),
    ("/api/ekatra/delivery/retrieve-delivery", "GET"): C(
        lambda w: Req("ekatra/delivery/retrieve-delivery"), signed_in(), keeps_seed=True
    ),
    ("/api/ekatra/delivery/{delivery_id}", "GET"): C(
        lambda w: Req(f"ekatra/delivery/{w.ekatra_delivery}"), _ekatra_owner(), keeps_seed=True
    ),
    ("/api/ekatra/delivery/{delivery_id}", "PUT"): C(
        lambda w: Req(f"ekatra/delivery/{w.ekatra_delivery}", json={"action": "PAUSE"}),
        _ekatra_owner(),
    ),
    ("/api/ekatra/delivery/{delivery_id}/pause_delivery", "PUT"): C(
        lambda w: Req(f"ekatra/delivery/{w.ekatra_delivery}/pause_delivery"), _ekatra_owner()
    ),
    # resuming a scheduled delivery is refused (409) only once the caller may see it
    ("/api/ekatra/delivery/{delivery_id}/schedule_delivery", "PUT"): C(
        lambda w: Req(f"ekatra/delivery/{w.ekatra_delivery}/schedule_delivery"),
        _ekatra_owner(ok=409),
        keeps_seed=True,
    ),
    ("/api/ekatra/delivery/{delivery_id}/stop_delivery", "PUT"): C(
        lambda w: Req(f"ekatra/delivery/{w.ekatra_delivery}/stop_delivery"), _ekatra_owner()
    ),
    ("/api/ekatra/delivery/{delivery_id}/answers", "GET"): C(
        lambda w: Req(f"ekatra/delivery/{w.ekatra_delivery}/answers"),
        _ekatra_owner(),
        keeps_seed=True,
    ),
    ("/api/ekatra/delivery/{delivery_id}/summary", "GET"): C(
        lambda w: Req(f"ekatra/delivery/{w.ekatra_delivery}/summary"),
        _ekatra_owner(),
        keeps_seed=True,
    ),
    # Twilio's webhook: public, and refused without a valid signature
    ("/api/ekatra/twilio/inbound", "POST"): C(
        lambda w: Req("ekatra/twilio/inbound", form={"From": "+919380169981", "Body": "STOP"}),
        everyone(403),
        keeps_seed=True,
    ),
}

#: Entries served only by some configurations: by the plugin named, if installed, or
#: behind JupyterHub ("hub").
OPTIONAL_OWNERS = {
    ("/api/oauth_callback", "GET"): "hub",
    ("/api/example/notes", "GET"): "example",
    ("/api/example/notes", "POST"): "example",
    ("/api/example/notes/page", "GET"): "example",
    ("/api/example/notes/page", "POST"): "example",
    ("/api/static/example/{path}", "GET"): "example",
    ("/api/static/example/{path}", "HEAD"): "example",
}


def _ts(w: World) -> dict[str, str]:
    return {"timestamp": w.timestamp}


#: Object-level cases the matrix's one object per route does not reach: ``(operation,
#: role, request, status)``. None of them may change anything (no re-seeding between them).
OBJECT_CASES: list[tuple[tuple[str, str], str, Callable[[World], Req], int]] = [
    # a removed student loses their own submissions and feedback; instructors keep them
    (
        ("/api/submissions/{course_id}/{assignment_id}/{student_id}", "GET"),
        "former_student",
        lambda w: Req(f"submissions/{_ca(w)}/s9"),
        404,
    ),
    (
        ("/api/submission/{course_id}/{assignment_id}/{student_id}", "GET"),
        "former_student",
        lambda w: Req(f"submission/{_ca(w)}/s9"),
        403,
    ),
    (
        ("/api/feedback/{course_id}/{assignment_id}/{student_id}", "GET"),
        "former_student",
        lambda w: Req(f"feedback/{_ca(w)}/s9", query=_ts(w)),
        404,
    ),
    (
        ("/api/student/{course_id}/{student_id}", "GET"),
        "former_student",
        lambda w: Req(f"student/{w.course}/s9"),
        404,
    ),
    (
        ("/api/submissions/{course_id}/{assignment_id}/{student_id}", "GET"),
        "instructor",
        lambda w: Req(f"submissions/{_ca(w)}/s9"),
        200,
    ),
    (
        ("/api/submission/{course_id}/{assignment_id}/{student_id}", "GET"),
        "co_instructor",
        lambda w: Req(f"submission/{_ca(w)}/s9"),
        200,
    ),
    # a student sees their own things only, never a peer's
    (
        ("/api/submissions/{course_id}/{assignment_id}/{student_id}", "GET"),
        "student",
        lambda w: Req(f"submissions/{_ca(w)}/s2"),
        403,
    ),
    (
        ("/api/feedback/{course_id}/{assignment_id}/{student_id}", "GET"),
        "student",
        lambda w: Req(f"feedback/{_ca(w)}/s2", query=_ts(w)),
        403,
    ),
    (
        ("/api/student/{course_id}/{student_id}", "GET"),
        "student",
        lambda w: Req(f"student/{w.course}/s2"),
        403,
    ),
    (
        ("/api/submissions/{course_id}/{assignment_id}/{student_id}", "GET"),
        "other_student",
        lambda w: Req(f"submissions/{_ca(w)}/s2"),
        200,
    ),
    # asking about oneself in a course one is not in: nothing found
    (
        ("/api/student/{course_id}/{student_id}", "GET"),
        "outsider",
        lambda w: Req(f"student/{w.course}/ollie"),
        404,
    ),
    (
        ("/api/feedback/{course_id}/{assignment_id}/{student_id}", "GET"),
        "outsider",
        lambda w: Req(f"feedback/{_ca(w)}/ollie", query=_ts(w)),
        404,
    ),
    # a student cannot make themself an instructor; an instructor cannot promote anyone
    (
        ("/api/instructor/{course_id}/{instructor_id}", "POST"),
        "student",
        lambda w: Req(f"instructor/{w.course}/s1", form=_person()),
        403,
    ),
    (
        ("/api/instructor/{course_id}/{instructor_id}", "POST"),
        "instructor",
        lambda w: Req(f"instructor/{w.course}/ollie", form=_person()),
        403,
    ),
    (
        ("/api/instructor/{course_id}/{instructor_id}", "POST"),
        "co_instructor",
        lambda w: Req(f"instructor/{w.course}/kevin", form=_person()),
        403,
    ),
    # an instructor of another course cannot enrol anyone here
    (
        ("/api/student/{course_id}/{student_id}", "POST"),
        "other_instructor",
        lambda w: Req(f"student/{w.course}/irene", form=_person()),
        403,
    ),
    # only a ticket's mentee and mentor act on it; its mentor cannot be its mentee
    (
        ("/api/vivere/mentorship/close", "POST"),
        "mentor",
        lambda w: Req("vivere/mentorship/close", json={"id": w.ticket_open}),
        403,
    ),
    (
        ("/api/vivere/mentorship/reopen", "POST"),
        "organiser",
        lambda w: Req("vivere/mentorship/reopen", json={"id": w.ticket_claimed}),
        403,
    ),
    (
        ("/api/vivere/mentorship/claim", "POST"),
        "outsider",  # no taking over a claimed ticket
        lambda w: Req("vivere/mentorship/claim", json={"id": w.ticket_claimed}),
        409,
    ),
    # a token's id reveals nothing: another user's token is "not found", even for admins
    (
        ("/api/tokens/{token_id}", "DELETE"),
        "impostor",
        lambda w: Req(f"tokens/{w.account_token_id}"),
        404,
    ),
]
