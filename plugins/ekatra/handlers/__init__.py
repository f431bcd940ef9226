"""Ekatra's routes, relative to its mount (``{prefix}ekatra/``); the catch-all 404 comes last."""

from ngshare_ekatra.handlers import auth, courses, deliveries, groups, inbound
from ngshare_ekatra.handlers.base import EkatraNotFoundHandler

handlers = [
    *auth.handlers,
    *courses.handlers,
    *groups.handlers,
    *deliveries.handlers,
    *inbound.handlers,
    (r".*", EkatraNotFoundHandler),
]
