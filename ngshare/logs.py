"""Where the server's log lines go and what they look like: text or JSON, with timestamps.

:class:`~ngshare.config.NgShare` builds its ``logging`` configuration with
:func:`logging_config`: one handler on stderr for the application's logger,
the ``ngshare`` package's loggers (``ngshare.access`` is the access log) and
Tornado's, formatted as text for people or as one JSON object per line for
log collectors (``c.NgShare.log_style = "json"``). Values a line carries as
``extra={"fields": {...}}`` become top-level keys of its JSON object.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime, timezone
from typing import Any

#: A line for people: level initial, UTC-less local time with milliseconds, logger, message.
TEXT_FORMAT = "[%(levelname)1.1s %(asctime)s.%(msecs)03d %(name)s] %(message)s"
DATE_FORMAT = "%Y-%m-%d %H:%M:%S"
#: Loggers besides the application's own that the console handler serves, with the least
#: level each shows (APScheduler's INFO lines repeat what the scheduler service logs).
SERVED_LOGGERS = {
    "ngshare": logging.NOTSET,
    "tornado": logging.NOTSET,
    "apscheduler": logging.WARNING,
}


class JsonLogFormatter(logging.Formatter):
    """One JSON object per line: ``time`` (UTC, ISO 8601), ``level``, ``logger``, ``message``."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            entry.update(fields)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def logging_config(app_logger: str, level: int, style: str, text_format: str, datefmt: str) -> dict:
    """A :func:`logging.config.dictConfig` document for the server's console output."""
    if style == "json":
        formatter: dict[str, Any] = {"()": f"{__name__}.JsonLogFormatter"}
    else:
        formatter = {"format": text_format, "datefmt": datefmt}
    loggers: dict[str, Any] = {app_logger: {"level": "DEBUG", "handlers": ["console"]}}
    for name, least in SERVED_LOGGERS.items():
        # propagate stays on: a host that installs its own root handler (pytest) still sees them
        loggers[name] = {"level": logging.getLevelName(max(level, least)), "handlers": ["console"]}
    return {
        "version": 1,
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "formatter": "console",
                "level": logging.getLevelName(level),
                "stream": "ext://sys.stderr",
            }
        },
        "formatters": {"console": formatter},
        "loggers": loggers,
        "disable_existing_loggers": False,
    }
