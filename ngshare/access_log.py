"""The access log: one line per answered request, on the ``ngshare.access`` logger.

Each line gives the status, method, path, caller and duration; 2xx and 3xx
at INFO, 4xx at WARNING, 5xx at ERROR. The path is logged without its query
string, which may carry tokens (``?token=``) or user names. In the JSON log
style (``c.NgShare.log_style = "json"``) the same values are separate keys.
"""

from __future__ import annotations

import logging

from tornado import web

log = logging.getLogger("ngshare.access")


def caller_name(handler: web.RequestHandler) -> str | None:
    """The signed-in caller of a request, if its handler identified one."""
    identity = getattr(handler, "identity", None)
    return getattr(identity, "name", None)


def log_request(handler: web.RequestHandler) -> None:
    """Tornado's ``log_function``: one access-log line for ``handler``'s request."""
    status = handler.get_status()
    level = logging.INFO if status < 400 else logging.WARNING if status < 500 else logging.ERROR
    if not log.isEnabledFor(level):
        return
    request = handler.request
    user = caller_name(handler)
    duration_ms = 1000.0 * request.request_time()
    log.log(
        level,
        "%d %s %s (%s@%s) %.1fms",
        status,
        request.method,
        request.path,
        user or "-",
        request.remote_ip,
        duration_ms,
        extra={
            "fields": {
                "method": request.method,
                "path": request.path,
                "status": status,
                "duration_ms": round(duration_ms, 1),
                "user": user,
                "remote_ip": request.remote_ip,
            }
        },
    )
