"""The ``ngshare notifications`` command (``service.commands``): the outbox from a shell."""

from __future__ import annotations

import asyncio
import json
import sys
from typing import TYPE_CHECKING, Any

from ngshare.notifications.addresses import NotificationError
from ngshare.notifications.service import NotificationService

if TYPE_CHECKING:
    from ngshare.context import ServerContext

NOTIFICATIONS_USAGE = (
    "usage: ngshare notifications list [STATUS] [channel=C] [plugin=P] [user=U] [limit=N] [json]\n"
    "       ngshare notifications retry ID [ID ...] | ngshare notifications retry failed"
)
_FILTERS = ("channel", "plugin", "user", "limit", "before")


def notifications_command(ctx: ServerContext, argv: list[str]) -> int:
    """List the outbox's messages, or send failed ones again: ``ngshare notifications list|retry``.

    ``list failed channel=sms`` filters (a status, then ``name=value`` words);
    ``retry 12 13`` or ``retry failed`` makes failed messages pending again,
    for the server's workers to send. Exit status: 0 done, 1 nothing to retry
    or an error, 2 usage.
    """
    # words, not "--options": the traitlets command line would take those for its own
    args = [a for a in argv if a not in ("json", "--json")]
    as_json = len(args) != len(argv)
    action = args[0] if args else "list"
    try:
        if action == "list":
            filters = _list_filters(args[1:])
            return asyncio.run(_list(ctx, filters, as_json))
        if action == "retry" and len(args) >= 2:
            ids = None if args[1:] == ["failed"] else [_id(a) for a in args[1:]]
            return asyncio.run(_retry(ctx, ids, as_json))
    except _Usage as e:
        print(f"error: {e}", file=sys.stderr)
    except NotificationError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(NOTIFICATIONS_USAGE, file=sys.stderr)
    return 2


class _Usage(ValueError):
    pass


def _id(word: str) -> int:
    if not word.isdigit() or len(word) > 18:
        raise _Usage(f"not a message id: {word!r}")
    return int(word)


def _list_filters(words: list[str]) -> dict[str, Any]:
    filters: dict[str, Any] = {}
    for word in words:
        name, sep, value = word.partition("=")
        if not sep:
            if "status" in filters:
                raise _Usage(f"one status only, not {word!r}")
            filters["status"] = word
        elif name in _FILTERS:
            filters[name] = _id(value) if name in ("limit", "before") else value
        else:
            raise _Usage(f"unknown filter {name!r} (filters: {', '.join(_FILTERS)})")
    return filters


def _service(ctx: ServerContext) -> NotificationService:
    if ctx.notifications is None:
        ctx.notifications = NotificationService(ctx)  # no workers: the server sends
    return ctx.notifications


async def _list(ctx: ServerContext, filters: dict[str, Any], as_json: bool) -> int:
    messages = await _service(ctx).messages(**filters)
    print(json.dumps(messages, indent=2) if as_json else format_messages(messages))
    return 0


async def _retry(ctx: ServerContext, ids: list[int] | None, as_json: bool) -> int:
    retried = await _service(ctx).retry(ids)
    if as_json:
        print(json.dumps({"retried": retried}))
    elif retried:
        print(f"retrying {len(retried)} message(s): " + " ".join(str(i) for i in retried))
    else:
        print("no failed message to retry", file=sys.stderr)
    if ids is not None and len(retried) < len(ids):
        missing = sorted(set(ids) - set(retried))
        print(f"not failed (or unknown): {' '.join(map(str, missing))}", file=sys.stderr)
    return 0 if retried else 1


def format_messages(messages: list[dict[str, Any]]) -> str:
    """A plain-text table of outbox messages, for the shell."""
    header = ("ID", "CREATED (UTC)", "PLUGIN", "CHANNEL", "TO", "STATUS", "TRIES", "DETAIL")
    rows = [header]
    for m in messages:
        detail = m["last_error"] or m["provider_id"] or ""
        rows.append(
            (
                str(m["id"]),
                (m["created_at"] or "").replace("T", " ")[:19],
                m["plugin"],
                m["channel"],
                m["to"] if len(m["to"]) <= 40 else m["to"][:39] + "…",
                m["status"],
                str(m["attempts"]),
                detail.splitlines()[0][:120] if detail else "-",
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(header) - 1)]
    return "\n".join(
        "  ".join(cell.ljust(w) for cell, w in zip(row[:-1], widths, strict=True)) + "  " + row[-1]
        for row in rows
    )
