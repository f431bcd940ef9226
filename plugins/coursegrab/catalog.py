"""Writing a roster into the tables: ingest (courses and sections) and poll (statuses).

Both run inside one transaction (``ctx.db.run``): the new data, the status
changes and the notifications they cause commit together, or not at all.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ngshare_coursegrab import notify
from ngshare_coursegrab.models import Course, Profile, Section, StatusChange, Term, Tracking
from ngshare_coursegrab.roster import Roster, SectionData
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ngshare.plugin_api import User, utcnow

if TYPE_CHECKING:
    from ngshare.plugin_api import NotificationService


@dataclass
class Outcome:
    """What one ingest or poll did."""

    term: str
    courses: int = 0
    sections: int = 0
    changes: int = 0
    messages: int = 0
    archived: int = 0


def current_term(session: Session) -> Term | None:
    return session.scalar(select(Term).where(Term.is_current.is_(True)))


def search_key(subject: str, number: int, title: str) -> str:
    """``CS``, 3110, ``Data Structures`` -> ``CS3110DATASTRUCTURES`` (what search matches)."""
    return "".join(f"{subject}{number}{title}".split()).upper()


def _archive(
    session: Session, notifications: NotificationService, old: Term, new_slug: str
) -> tuple[int, int]:
    """Archive ``old``'s active tracking and tell its people; ``(rows, messages)``."""
    now = utcnow()
    old_sections = select(Section.pk).where(Section.term_pk == old.pk)
    people = session.execute(
        select(User.pk, User.name, Profile)
        .join(Tracking, Tracking.user_pk == User.pk)
        .outerjoin(Profile, Profile.user_pk == User.pk)
        .where(Tracking.section_pk.in_(old_sections), Tracking.archived_at.is_(None))
        .distinct()
    ).all()
    archived = session.execute(
        update(Tracking)
        .where(Tracking.section_pk.in_(old_sections), Tracking.archived_at.is_(None))
        .values(archived_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    session.execute(
        update(Section)
        .where(Section.term_pk == old.pk)
        .values(status="ARCHIVED", num_tracking=0, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    old.is_current = False
    messages = notify.tell_archived(
        session, notifications, old.slug, new_slug, [(p, n, prof) for p, n, prof in people]
    )
    return archived, messages


def _record_change(session: Session, section: Section, status: str, now) -> StatusChange:
    change = StatusChange(
        section_pk=section.pk, old_status=section.status, new_status=status, changed_at=now
    )
    section.status = status
    section.updated_at = now
    session.add(change)
    return change


def apply_roster(session: Session, notifications: NotificationService, roster: Roster) -> Outcome:
    """Make ``roster`` the current term's data: upsert its courses and sections.

    A roster of another term than the current one archives the current term's
    tracking first (and tells its people). Status changes of known sections are
    recorded and told, as a poll would.
    """
    now = utcnow()
    outcome = Outcome(term=roster.term)
    term = session.scalar(select(Term).where(Term.slug == roster.term))
    current = current_term(session)
    if current is not None and current.slug != roster.term:
        outcome.archived, outcome.messages = _archive(session, notifications, current, roster.term)
    if term is None:
        term = Term(slug=roster.term, description=roster.description, loaded_at=now)
        session.add(term)
        session.flush()
    term.is_current = True
    term.loaded_at = now
    if roster.description:
        term.description = roster.description
    courses = {
        (c.subject_code, c.course_num): c
        for c in session.scalars(select(Course).where(Course.term_pk == term.pk))
    }
    sections = {
        s.catalog_num: s for s in session.scalars(select(Section).where(Section.term_pk == term.pk))
    }
    pending: list[tuple[Course, SectionData]] = []
    for data in roster.courses:
        key = search_key(data.subject_code, data.course_num, data.title)
        course = courses.get((data.subject_code, data.course_num))
        if course is None:
            course = Course(
                term_pk=term.pk,
                subject_code=data.subject_code,
                course_num=data.course_num,
                title=data.title,
                search_key=key,
            )
            session.add(course)
            courses[(data.subject_code, data.course_num)] = course
        else:
            course.title, course.search_key = data.title, key
        pending += [(course, s) for s in data.sections]
    session.flush()
    changes = []
    for course, data in pending:
        section = sections.get(data.catalog_num)
        instructors = json.dumps(list(data.instructors))
        if section is None:
            session.add(
                Section(
                    term_pk=term.pk,
                    course_pk=course.pk,
                    catalog_num=data.catalog_num,
                    section=data.section,
                    status=data.status,
                    mode=data.mode,
                    instructors=instructors,
                    updated_at=now,
                )
            )
            continue
        section.course_pk, section.section = course.pk, data.section
        section.mode, section.instructors = data.mode, instructors
        if section.status != data.status:
            changes.append(_record_change(session, section, data.status, now))
    session.flush()
    outcome.courses = len(courses)
    outcome.sections = len(pending)
    outcome.changes = len(changes)
    outcome.messages += notify.tell_trackers(session, notifications, changes)
    return outcome


def apply_statuses(session: Session, notifications: NotificationService, roster: Roster) -> Outcome:
    """Refresh the current term's section statuses from ``roster``; tell the trackers.

    Sections the roster no longer lists keep their last status; sections it
    newly lists wait for the next ingest.
    """
    now = utcnow()
    outcome = Outcome(term=roster.term)
    term = current_term(session)
    if term is None or term.slug != roster.term:
        return outcome
    statuses = roster.statuses()
    rows = session.execute(
        select(Section.pk, Section.catalog_num, Section.status).where(Section.term_pk == term.pk)
    ).all()
    changed = [
        (pk, statuses[num]) for pk, num, old in rows if num in statuses and statuses[num] != old
    ]
    old_of = {pk: old for pk, _, old in rows}
    changes = []
    for pk, status in changed:
        changes.append(
            StatusChange(section_pk=pk, old_status=old_of[pk], new_status=status, changed_at=now)
        )
    if changed:
        session.execute(
            update(Section),
            [{"pk": pk, "status": status, "updated_at": now} for pk, status in changed],
        )
        session.add_all(changes)
        session.flush()
    outcome.sections = len(rows)
    outcome.changes = len(changes)
    outcome.messages = notify.tell_trackers(session, notifications, changes)
    return outcome
