"""Course search: ``"cs 3110"``, ``"CS3110"``, ``"cs"``, ``"3110"`` or a word of a title.

The query loses its spaces and is upper-cased, then matched as a substring of
each course's ``search_key`` (subject, number and title run together, upper
case, no spaces: the original's rule). Results are ranked in SQL, the same on
SQLite and PostgreSQL:

0. subject and number exactly (``cs 3110``);
1. the subject exactly (``cs``), or the number exactly (``3110``);
2. the key starts with the query (``cs31``);
3. the query anywhere else (a title word);

then by subject and number; at most ``search_limit`` courses. With
``c.CourseGrab.search_index_enabled`` (the default) the matching runs over an
in-memory copy of the term's course keys (:mod:`ngshare_coursegrab.course_index`).
"""

from __future__ import annotations

from typing import Any

from ngshare_coursegrab.course_index import SUBJECT_NUMBER, CourseIndex
from ngshare_coursegrab.models import Course, Section, Term, Tracking
from ngshare_coursegrab.wire import course_json
from sqlalchemy import and_, case, select
from sqlalchemy.orm import Session

from ngshare.plugin_api import User

MAX_QUERY = 100


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def normalize_query(query: str) -> str:
    return "".join(query.split()).upper()


def search_courses(
    session: Session,
    query: str,
    limit: int,
    user_pk: int | None,
    index: CourseIndex | None = None,
) -> tuple[list[Course], dict[int, list[Section]], set[int]]:
    """Matching courses of the current term, ranked; their sections; the caller's tracked pks.

    With ``index`` the matching runs over its cached keys, else in SQL; same answers.
    """
    compact = normalize_query(query)
    term = session.execute(select(Term.pk, Term.loaded_at).where(Term.is_current.is_(True))).first()
    if term is None or not compact:
        return [], {}, set()
    if index is not None:
        pks = index.search(session, term.pk, term.loaded_at, compact, limit)
        found = {c.pk: c for c in session.scalars(select(Course).where(Course.pk.in_(pks)))}
        courses = [found[pk] for pk in pks if pk in found]
        return courses, *sections_of(session, [c.pk for c in courses], user_pk)
    ranks = []
    pair = SUBJECT_NUMBER.match(compact)
    if pair:
        ranks.append((and_(Course.subject_code == pair[1], Course.course_num == int(pair[2])), 0))
    ranks.append((Course.subject_code == compact, 1))
    if compact.isdigit() and len(compact) <= 9:
        ranks.append((Course.course_num == int(compact), 1))
    pattern = _like_escape(compact)
    ranks.append((Course.search_key.like(pattern + "%", escape="\\"), 2))
    rank = case(*ranks, else_=3)
    courses = list(
        session.scalars(
            select(Course)
            .where(
                Course.term_pk == term.pk,
                Course.search_key.like("%" + pattern + "%", escape="\\"),
            )
            .order_by(rank, Course.subject_code, Course.course_num, Course.pk)
            .limit(limit)
        )
    )
    return courses, *sections_of(session, [c.pk for c in courses], user_pk)


def sections_of(
    session: Session, course_pks: list[int], user_pk: int | None
) -> tuple[dict[int, list[Section]], set[int]]:
    """The sections of these courses (by course pk, in catalog order) and which the user tracks."""
    by_course: dict[int, list[Section]] = {pk: [] for pk in course_pks}
    if not course_pks:
        return by_course, set()
    for section in session.scalars(
        select(Section).where(Section.course_pk.in_(course_pks)).order_by(Section.catalog_num)
    ):
        by_course[section.course_pk].append(section)
    tracked: set[int] = set()
    if user_pk is not None:
        tracked = set(
            session.scalars(
                select(Tracking.section_pk)
                .join(Section, Section.pk == Tracking.section_pk)
                .where(
                    Tracking.user_pk == user_pk,
                    Tracking.archived_at.is_(None),
                    Section.course_pk.in_(course_pks),
                )
            )
        )
    return by_course, tracked


def _user_pk(session: Session, user_name: str | None) -> int | None:
    if user_name is None:
        return None
    return session.scalar(select(User.pk).where(User.name == user_name))


def search_json(
    session: Session,
    query: str,
    limit: int,
    user_name: str | None,
    index: CourseIndex | None = None,
) -> list[dict[str, Any]]:
    """The seed's ``courses`` list for ``query``; ``is_tracking`` for ``user_name``."""
    user_pk = _user_pk(session, user_name)
    courses, sections, tracked = search_courses(session, query, limit, user_pk, index)
    return [course_json(c, sections[c.pk], tracked) for c in courses]


def course_by_id(session: Session, course_id: int, user_name: str | None) -> dict[str, Any] | None:
    """One course with its sections; ``None`` if there is no such course."""
    course = session.get(Course, course_id)
    if course is None:
        return None
    sections, tracked = sections_of(session, [course.pk], _user_pk(session, user_name))
    return course_json(course, sections[course.pk], tracked)
