"""CourseGrab's routes, relative to its mount (``{prefix}coursegrab/``); the 404 comes last."""

from ngshare_coursegrab.handlers import courses, sections, session, users
from ngshare_coursegrab.handlers.base import CourseGrabNotFoundHandler

handlers = [
    *session.handlers,
    *users.handlers,
    *sections.handlers,
    *courses.handlers,
    (r".*", CourseGrabNotFoundHandler),
]
