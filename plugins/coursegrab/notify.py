"""Telling trackers about a status change, through the core notifications service.

Each tracker's choice (``Profile.notification``) picks one channel: IOS ->
``apns``, ANDROID -> ``fcm``, WEB -> ``webpush``, EMAIL -> ``email``, NONE ->
nothing. The message goes to every enabled address of that channel the person
has registered (their devices), queued in the transaction that records the
change, with the idempotency key ``coursegrab:change:<change>:user:<user>``:
one change tells one person once, however often the work is retried.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from ngshare_coursegrab.models import Course, Profile, Section, StatusChange, Tracking
from ngshare_coursegrab.wire import section_json, section_label
from sqlalchemy import select
from sqlalchemy.orm import Session

from ngshare.plugin_api import User

if TYPE_CHECKING:
    from ngshare.plugin_api import NotificationService

PLUGIN = "coursegrab"

#: The seed's notification choice -> the notifications service's channel.
CHANNEL_OF = {"IOS": "apns", "ANDROID": "fcm", "WEB": "webpush", "EMAIL": "email"}

DEFAULT_STATUSES = ("OPEN",)


def wanted_statuses(profile: Profile | None) -> set[str]:
    if profile is None or not profile.statuses:
        return set(DEFAULT_STATUSES)
    return {s for s in profile.statuses.split(",") if s}


def payload(section: Section, course: Course) -> dict[str, Any]:
    """The seed's payload: title, body, the section (``is_tracking`` true), a timestamp."""
    status = section.status
    title = (
        f"{course.subject_code} {course.course_num} {section_label(section)} "
        f"is Now {status.title()}"
    )
    if status == "OPEN":
        body = f"Class Nbr: {section.catalog_num}. Grab your spot right now!"
    else:
        body = f"Class Nbr: {section.catalog_num} is now {status.lower()}."
    return {
        "title": title,
        "body": body,
        "section": section_json(section, course, True),
        "timestamp": int(time.time()),
    }


def tell_trackers(
    session: Session, notifications: NotificationService, changes: list[StatusChange]
) -> int:
    """Queue the messages for ``changes`` (already flushed); how many were queued."""
    if not changes:
        return 0
    by_section = {c.section_pk: c for c in changes}
    rows = session.execute(
        select(Tracking.section_pk, User.pk, User.name, Profile)
        .join(User, User.pk == Tracking.user_pk)
        .outerjoin(Profile, Profile.user_pk == Tracking.user_pk)
        .where(Tracking.section_pk.in_(list(by_section)), Tracking.archived_at.is_(None))
    ).all()
    if not rows:
        return 0
    sections = {
        s.pk: (s, c)
        for s, c in session.execute(
            select(Section, Course)
            .join(Course, Course.pk == Section.course_pk)
            .where(Section.pk.in_({r[0] for r in rows}))
        )
    }
    payloads: dict[int, dict[str, Any]] = {}
    queued = 0
    for section_pk, user_pk, user_name, profile in rows:
        change = by_section[section_pk]
        if profile is None or profile.notification is None:
            continue
        if change.new_status not in wanted_statuses(profile):
            continue
        if section_pk not in payloads:
            payloads[section_pk] = payload(*sections[section_pk])
        content = payloads[section_pk]
        queued += len(
            notifications.send_to_user(
                session,
                plugin=PLUGIN,
                user=user_name,
                subject=content["title"],
                body=content["body"],
                data=content,
                key=f"coursegrab:change:{change.pk}:user:{user_pk}",
                channels=[CHANNEL_OF[profile.notification]],
            )
        )
    return queued


def tell_archived(
    session: Session,
    notifications: NotificationService,
    term_slug: str,
    new_term: str,
    users: list[tuple[int, str, Profile | None]],
) -> int:
    """Tell people whose tracking a new roster archived (once per person and term)."""
    queued = 0
    for user_pk, user_name, profile in users:
        if profile is None or profile.notification is None:
            continue
        queued += len(
            notifications.send_to_user(
                session,
                plugin=PLUGIN,
                user=user_name,
                subject=f"CourseGrab: {new_term} is here",
                body=(
                    f"The {new_term} roster replaced {term_slug}; the sections you tracked "
                    f"in {term_slug} are archived. Track this term's sections again."
                ),
                data={"archived_term": term_slug, "term": new_term},
                key=f"coursegrab:archived:{term_slug}:user:{user_pk}",
                channels=[CHANNEL_OF[profile.notification]],
            )
        )
    return queued
