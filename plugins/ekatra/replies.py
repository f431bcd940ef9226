"""Learners' replies (Twilio's inbound webhook) and the owners' views of the answers.

A reply from a number is matched to the learners with that number. STOP (and
Twilio's other opt-out words) unsubscribes all of them, START (and the other
opt-in words) subscribes them again; anything else is the answer to the open
question of the learner's latest day: its first question this learner has
not answered yet. Multiple-choice and exact questions are marked right or
wrong against ``correct_answer``; others are kept unmarked. A reply nothing
is open for is logged and dropped. A MessageSid seen before (Twilio retrying)
records nothing new.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ngshare_ekatra import errors
from ngshare_ekatra.access import Caller, owned
from ngshare_ekatra.models import (
    MAX_ANSWER,
    Answer,
    Day,
    Delivery,
    Learner,
    Question,
    Recipient,
    Send,
)
from ngshare_ekatra.wire import is_correct
from sqlalchemy import and_, func, select, update
from sqlalchemy.orm import Session

from ngshare.plugin_api import ApiError

#: Twilio's default opt-out and opt-in keywords (case-insensitive, the whole message).
STOP_WORDS = {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"}
START_WORDS = {"START", "YES", "UNSTOP"}


def keyword(body: str) -> str | None:
    """``"STOP"``, ``"START"`` or ``None`` for an ordinary reply."""
    word = body.strip().upper().rstrip(".!")
    if word in STOP_WORDS:
        return "STOP"
    if word in START_WORDS:
        return "START"
    return None


def set_subscribed(session: Session, phone: str, subscribed: bool) -> int:
    """Subscribe or unsubscribe every learner with ``phone``; how many rows matched."""
    result = session.execute(
        update(Learner).where(Learner.phone == phone).values(is_subscribed=subscribed)
    )
    return result.rowcount


def record_reply(
    session: Session, phone: str, channel: str, body: str, sid: str | None, now: datetime
) -> str:
    """Record ``body`` from ``phone``; what happened (for the log)."""
    word = keyword(body)
    if word is not None:
        n = set_subscribed(session, phone, word == "START")
        return f"{word} for {n} learner(s)"
    if sid and session.scalar(select(Answer.pk).where(Answer.message_sid == sid)) is not None:
        return "a MessageSid seen before"
    # the learner's most recent day that asked something, and its first unanswered question
    has_questions = select(Question.pk).where(Question.day_pk == Day.pk).exists()
    latest = session.execute(
        select(Send.delivery_pk, Send.learner_pk, Send.step, Day.pk)
        .join(Learner, Learner.pk == Send.learner_pk)
        .join(Delivery, Delivery.pk == Send.delivery_pk)
        .join(Day, and_(Day.course_pk == Delivery.course_pk, Day.number == Send.step))
        .where(
            Learner.phone == phone,
            Learner.channel == channel,
            Send.skipped.is_(False),
            has_questions,
        )
        .order_by(Send.sent_at.desc(), Send.step.desc(), Send.pk.desc())
        .limit(1)
    ).first()
    if latest is None:
        return "no question was sent to this number"
    delivery_pk, learner_pk, day_number, day_pk = latest
    answered = select(Answer.question).where(
        Answer.delivery_pk == delivery_pk,
        Answer.learner_pk == learner_pk,
        Answer.day == day_number,
    )
    question = session.scalar(
        select(Question)
        .where(Question.day_pk == day_pk, Question.number.not_in(answered))
        .order_by(Question.number)
        .limit(1)
    )
    if question is None:
        return f"no open question on day {day_number}"
    session.add(
        Answer(
            delivery_pk=delivery_pk,
            learner_pk=learner_pk,
            day=day_number,
            question=question.number,
            text=body.strip()[:MAX_ANSWER],
            is_correct=is_correct(question.type, question.correct_answer, body),
            message_sid=sid[:64] if sid else None,
            received_at=now,
        )
    )
    return f"answer to day {day_number} question {question.number}"


def answers(
    session: Session, caller: Caller, delivery_pk: int, learner_pk: int | None
) -> list[dict[str, Any]]:
    """Every recorded answer of the delivery (of one learner if given), by learner and day."""
    delivery = owned(session, Delivery, delivery_pk, caller, errors.ERR_DELIVERY_NOT_FOUND)
    query = (
        select(Answer, Learner.name)
        .join(Learner, Learner.pk == Answer.learner_pk)
        .where(Answer.delivery_pk == delivery.pk)
        .order_by(Answer.learner_pk, Answer.day, Answer.question)
    )
    if learner_pk is not None:
        member = select(Recipient.pk).where(
            Recipient.delivery_pk == delivery.pk, Recipient.learner_pk == learner_pk
        )
        if session.scalar(member) is None:
            raise ApiError(404, errors.ERR_STUDENT_NOT_FOUND)
        query = query.where(Answer.learner_pk == learner_pk)
    return [
        {
            "student_id": a.learner_pk,
            "student_name": name,
            "day": a.day,
            "question_number": a.question,
            "answer": a.text,
            "is_correct": a.is_correct,
            "received_at": a.received_at.isoformat(timespec="seconds") + "Z",
        }
        for a, name in session.execute(query)
    ]


def summary(session: Session, caller: Caller, delivery_pk: int) -> list[dict[str, Any]]:
    """Per day: learners sent it (late, skipped), answers, right and wrong."""
    delivery = owned(session, Delivery, delivery_pk, caller, errors.ERR_DELIVERY_NOT_FOUND)
    days: dict[int, dict[str, Any]] = {
        n: {
            "day": n,
            "sent": 0,
            "late": 0,
            "skipped": 0,
            "answers": 0,
            "correct": 0,
            "incorrect": 0,
        }
        for n in range(1, delivery.total_days + 1)
    }
    sends = session.execute(
        select(Send.step, Send.skipped, Send.late, func.count())
        .where(Send.delivery_pk == delivery.pk, Send.step.between(1, delivery.total_days))
        .group_by(Send.step, Send.skipped, Send.late)
    )
    for step, skipped, late, n in sends:
        row = days[step]
        if skipped:
            row["skipped"] += n
        else:
            row["sent"] += n
            row["late"] += n if late else 0
    marks = session.execute(
        select(Answer.day, Answer.is_correct, func.count())
        .where(Answer.delivery_pk == delivery.pk)
        .group_by(Answer.day, Answer.is_correct)
    )
    for day, correct, n in marks:
        if day not in days:
            continue
        days[day]["answers"] += n
        if correct is True:
            days[day]["correct"] += n
        elif correct is False:
            days[day]["incorrect"] += n
    return list(days.values())
