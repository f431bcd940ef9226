"""Tracking sections and choosing how to be told: the database side of users/ and sections/."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ngshare_coursegrab import errors
from ngshare_coursegrab.catalog import current_term
from ngshare_coursegrab.models import Course, Profile, Section, Tracking
from ngshare_coursegrab.notify import CHANNEL_OF, PLUGIN
from ngshare_coursegrab.wire import section_json
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ngshare.plugin_api import ApiError, get_or_create_user, utcnow

if TYPE_CHECKING:
    from ngshare.plugin_api import NotificationService


def tracked_sections(session: Session, user_name: str) -> list[dict[str, Any]]:
    """The sections the person tracks (this term's, not archived), in catalog order."""
    user = get_or_create_user(session, user_name)
    rows = session.execute(
        select(Section, Course)
        .join(Tracking, Tracking.section_pk == Section.pk)
        .join(Course, Course.pk == Section.course_pk)
        .where(Tracking.user_pk == user.pk, Tracking.archived_at.is_(None))
        .order_by(Section.catalog_num)
    ).all()
    return [section_json(s, c, True) for s, c in rows]


def _section(session: Session, catalog_num: int) -> tuple[Section, Course]:
    term = current_term(session)
    found = None
    if term is not None:
        found = session.execute(
            select(Section, Course)
            .join(Course, Course.pk == Section.course_pk)
            .where(Section.term_pk == term.pk, Section.catalog_num == catalog_num)
        ).first()
    if found is None:
        raise ApiError(404, errors.ERR_BAD_CATALOG_NUM)
    return found[0], found[1]


def track(session: Session, user_name: str, catalog_num: int) -> dict[str, Any]:
    """Start tracking a section of the current term; 404 unknown, 409 already tracked."""
    user = get_or_create_user(session, user_name)
    section, course = _section(session, catalog_num)
    try:
        with session.begin_nested():
            session.add(Tracking(user_pk=user.pk, section_pk=section.pk))
    except IntegrityError:
        raise ApiError(409, errors.ERR_ALREADY_TRACKING) from None
    _count(session, section, +1)
    return section_json(section, course, True)


def untrack(session: Session, user_name: str, catalog_num: int) -> dict[str, Any]:
    """Stop tracking a section; 404 unknown, 409 not tracked."""
    user = get_or_create_user(session, user_name)
    section, course = _section(session, catalog_num)
    row = session.scalar(
        select(Tracking).where(
            Tracking.user_pk == user.pk,
            Tracking.section_pk == section.pk,
            Tracking.archived_at.is_(None),
        )
    )
    if row is None:
        raise ApiError(409, errors.ERR_NOT_TRACKING)
    session.delete(row)
    _count(session, section, -1)
    return section_json(section, course, False)


def _count(session: Session, section: Section, delta: int) -> None:
    """Move ``num_tracking`` in SQL (concurrent tracks do not lose counts).

    ``updated_at`` moves too: other replicas' search caches look for it.
    """
    session.execute(
        update(Section)
        .where(Section.pk == section.pk)
        .values(num_tracking=Section.num_tracking + delta, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    session.refresh(section, ["num_tracking"])


def choose_notification(
    session: Session,
    notifications: NotificationService,
    *,
    user_name: str,
    choice: str,
    address: str | None,
    statuses: list[str] | None,
) -> None:
    """Record the person's channel (and statuses); register the Web Push or e-mail address."""
    user = get_or_create_user(session, user_name)
    profile = session.get(Profile, user.pk)
    if profile is None:
        profile = Profile(user_pk=user.pk, statuses="OPEN")
        session.add(profile)
    if choice == "EMAIL":
        address = address or profile.email
        if address is None:
            raise ApiError(400, errors.ERR_NO_EMAIL)
    if address is not None:
        notifications.add_address(
            session, user=user_name, channel=CHANNEL_OF[choice], address=address, plugin=PLUGIN
        )
        if choice == "EMAIL":
            profile.email = address
    profile.notification = None if choice == "NONE" else choice
    if statuses is not None:
        profile.statuses = ",".join(statuses)
