"""Vivere's routes, relative to its mount (``{prefix}vivere/``); the catch-all 404 comes last."""

from ngshare_vivere.handlers import admin, live, mentorship, push, sms, users
from ngshare_vivere.handlers.base import VivereNotFoundHandler

handlers = [
    *live.handlers,
    *push.handlers,
    *users.handlers,
    *mentorship.handlers,
    *admin.handlers,
    *sms.handlers,
    (r".*", VivereNotFoundHandler),
]
