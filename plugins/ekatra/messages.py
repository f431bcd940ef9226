"""The texts learners receive, one function per kind of message."""

from __future__ import annotations

from ngshare_ekatra.models import Course, Day, Question

CLOSING = "Thanks for enrolling in {course}! That was the last day. Reply STOP to unsubscribe."


def welcome(course: Course, learner_name: str) -> str:
    greeting = f"Hi {learner_name}! "
    return greeting + course.activation_message


def day(course: Course, day: Day, learner_name: str) -> str:
    return f"*Course - {course.name}*\n*Day {day.number}*\nHi {learner_name}!\n{day.text}"


def question(day: Day, q: Question, count: int) -> str:
    number = f"Question {q.number} of {count}" if count > 1 else "Question"
    return f"*Day {day.number} - {number}*\n{q.text}\nReply with your answer."


def closing(course: Course) -> str:
    return CLOSING.format(course=course.name)
