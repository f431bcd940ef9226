"""Courses, their days and questions: the data functions behind ``course/...``.

Days are numbered 1..n by the server and stay dense: deleting day 2 of 5
makes days 3..5 the new 2..4; questions likewise within their day. An update
replaces what it names (the original appended duplicates): ``days`` in a
course update is the new list of days, ``questions`` in a day update the new
list of questions.
"""

from __future__ import annotations

from typing import Any

from ngshare_ekatra import errors
from ngshare_ekatra.access import Caller, owned, refuse_if_locked, visible
from ngshare_ekatra.models import Course, Day, Question
from ngshare_ekatra.wire import MISSING, DayIn, QuestionIn
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from ngshare.plugin_api import ApiError, utcnow

DEFAULT_ACTIVATION = (
    "Welcome to {course}! Your first lesson arrives soon. Reply STOP to unsubscribe."
)


def days_of(session: Session, course_pk: int) -> list[Day]:
    return list(session.scalars(select(Day).where(Day.course_pk == course_pk).order_by(Day.number)))


def questions_of(session: Session, day_pks: list[int]) -> dict[int, list[Question]]:
    out: dict[int, list[Question]] = {pk: [] for pk in day_pks}
    if day_pks:
        query = select(Question).where(Question.day_pk.in_(day_pks)).order_by(Question.number)
        for q in session.scalars(query):
            out[q.day_pk].append(q)
    return out


def question_json(q: Question) -> dict[str, Any]:
    return {
        "question_number": q.number,
        "question": q.text,
        "type": q.type,
        "correct_answer": q.correct_answer,
    }


def course_json(session: Session, course: Course) -> dict[str, Any]:
    days = days_of(session, course.pk)
    questions = questions_of(session, [d.pk for d in days])
    return {
        "id": course.pk,
        "name": course.name,
        "author": course.author,
        "description": course.description,
        "activation_message": course.activation_message,
        "days": [
            {
                "day": d.number,
                "text": d.text,
                "questions": [question_json(q) for q in questions[d.pk]],
            }
            for d in days
        ],
        "added_by": course.owner_pk,
        "created_date": course.created_at.isoformat(sep=" ", timespec="seconds"),
        "updated_date": course.updated_at.isoformat(sep=" ", timespec="seconds"),
    }


def _add_questions(session: Session, day: Day, questions: list[QuestionIn]) -> None:
    for number, q in enumerate(questions, 1):
        session.add(
            Question(
                day_pk=day.pk,
                number=number,
                text=q.text,
                type=q.type,
                correct_answer=q.correct_answer,
            )
        )


def _add_days(session: Session, course: Course, days: list[DayIn]) -> None:
    for number, d in enumerate(days, 1):
        day = Day(course_pk=course.pk, number=number, text=d.text)
        session.add(day)
        session.flush()
        _add_questions(session, day, d.questions)


def _replace_days(session: Session, course: Course, days: list[DayIn]) -> None:
    session.execute(delete(Day).where(Day.course_pk == course.pk))  # questions cascade
    session.flush()
    _add_days(session, course, days)


def list_courses(session: Session, caller: Caller) -> list[dict[str, Any]]:
    return [course_json(session, c) for c in visible(session, Course, caller)]


def get_course(session: Session, caller: Caller, course_pk: int) -> dict[str, Any]:
    course = owned(session, Course, course_pk, caller, errors.ERR_COURSE_NOT_FOUND)
    return course_json(session, course)


def create_course(
    session: Session, caller: Caller, fields: dict[str, Any], days: list[DayIn]
) -> int:
    fields.setdefault("activation_message", DEFAULT_ACTIVATION.format(course=fields["name"]))
    course = Course(owner_pk=caller.user_pk(session), **fields)
    session.add(course)
    session.flush()
    _add_days(session, course, days)
    return course.pk


def update_course(
    session: Session, caller: Caller, course_pk: int, fields: dict[str, Any], days: Any
) -> None:
    course = owned(session, Course, course_pk, caller, errors.ERR_COURSE_NOT_FOUND)
    refuse_if_locked(session, course=course)
    for name, value in fields.items():
        setattr(course, name, value)
    if days is not MISSING:
        _replace_days(session, course, days)
    course.updated_at = utcnow()


def delete_course(session: Session, caller: Caller, course_pk: int) -> None:
    course = owned(session, Course, course_pk, caller, errors.ERR_COURSE_NOT_FOUND)
    refuse_if_locked(session, course=course)
    session.execute(delete(Day).where(Day.course_pk == course.pk))
    session.delete(course)


def _day(session: Session, caller: Caller, course_pk: int, number: int) -> tuple[Course, Day]:
    course = owned(session, Course, course_pk, caller, errors.ERR_COURSE_NOT_FOUND)
    day = session.scalar(select(Day).where(Day.course_pk == course.pk, Day.number == number))
    if day is None:
        raise ApiError(404, errors.ERR_DAY_NOT_FOUND)
    return course, day


def update_day(
    session: Session, caller: Caller, course_pk: int, number: int, text: Any, questions: Any
) -> None:
    course, day = _day(session, caller, course_pk, number)
    refuse_if_locked(session, course=course)
    if text is not MISSING:
        day.text = text
    if questions is not MISSING:
        session.execute(delete(Question).where(Question.day_pk == day.pk))
        session.flush()
        _add_questions(session, day, questions)
    course.updated_at = utcnow()


def _renumber_after(session: Session, model: Any, parent: Any, parent_pk: int, number: int) -> None:
    """Close the gap left by ``number``: later rows move down one, in order."""
    later = session.scalars(
        select(model).where(parent == parent_pk, model.number > number).order_by(model.number)
    )
    for row in list(later):
        session.execute(update(model).where(model.pk == row.pk).values(number=row.number - 1))


def delete_day(session: Session, caller: Caller, course_pk: int, number: int) -> None:
    course, day = _day(session, caller, course_pk, number)
    refuse_if_locked(session, course=course)
    session.execute(delete(Question).where(Question.day_pk == day.pk))
    session.execute(delete(Day).where(Day.pk == day.pk))
    _renumber_after(session, Day, Day.course_pk, course.pk, number)
    course.updated_at = utcnow()


def _question(
    session: Session, caller: Caller, course_pk: int, number: int, q_number: int
) -> tuple[Course, Day, Question]:
    course, day = _day(session, caller, course_pk, number)
    q = session.scalar(
        select(Question).where(Question.day_pk == day.pk, Question.number == q_number)
    )
    if q is None:
        raise ApiError(404, errors.ERR_QUESTION_NOT_FOUND)
    return course, day, q


def update_question(
    session: Session,
    caller: Caller,
    course_pk: int,
    number: int,
    q_number: int,
    fields: dict[str, str],
) -> None:
    course, _, q = _question(session, caller, course_pk, number, q_number)
    refuse_if_locked(session, course=course)
    for name, value in fields.items():
        setattr(q, name, value)
    course.updated_at = utcnow()


def delete_question(
    session: Session, caller: Caller, course_pk: int, number: int, q_number: int
) -> None:
    course, day, q = _question(session, caller, course_pk, number, q_number)
    refuse_if_locked(session, course=course)
    session.execute(delete(Question).where(Question.pk == q.pk))
    _renumber_after(session, Question, Question.day_pk, day.pk, q_number)
    course.updated_at = utcnow()
