"""An nbgrader 0.9 exchange plugin that talks to ngshare's REST API.

Configure it in ``nbgrader_config.py`` (students' and instructors' alike)::

    from ngshare.clients.nbgrader import configure

    c = get_config()
    configure(c)                     # URL from $NGSHARE_URL or the hub's address
    # or: configure(c, url="https://hub.example.org/services/ngshare/")

Every action fails loudly (nbgrader's ``ExchangeError``, non-zero exit) with
the server's message, where ngshare_exchange would log and go on. Only this
package imports nbgrader: the server never needs it.
"""

from __future__ import annotations

from typing import Any

from ngshare.clients.nbgrader.collect import ExchangeCollect
from ngshare.clients.nbgrader.exchange import Exchange
from ngshare.clients.nbgrader.fetch_assignment import ExchangeFetchAssignment
from ngshare.clients.nbgrader.fetch_feedback import ExchangeFetchFeedback
from ngshare.clients.nbgrader.list import ExchangeList
from ngshare.clients.nbgrader.release_assignment import ExchangeReleaseAssignment
from ngshare.clients.nbgrader.release_feedback import ExchangeReleaseFeedback
from ngshare.clients.nbgrader.submit import ExchangeSubmit

#: ``c.ExchangeFactory`` entry -> our class (by import path, as config files hold them).
PLUGIN_CLASSES = {
    "exchange": Exchange,
    "fetch_assignment": ExchangeFetchAssignment,
    "fetch_feedback": ExchangeFetchFeedback,
    "release_assignment": ExchangeReleaseAssignment,
    "release_feedback": ExchangeReleaseFeedback,
    "list": ExchangeList,
    "submit": ExchangeSubmit,
    "collect": ExchangeCollect,
}


def configure(c: Any, url: str | None = None, **options: Any) -> None:
    """Point all eight ``c.ExchangeFactory`` entries at this plugin.

    :arg c: the config object of ``nbgrader_config.py`` (``get_config()``).
    :arg url: the ngshare API URL (``c.Exchange.url``); default: see
        :attr:`Exchange.url`.
    :arg options: other ``c.Exchange`` settings, e.g. ``dev_user="alice"``,
        ``path_includes_course=True``, ``token=...``.
    :raises TypeError: for an option the plugin does not have.
    """
    known = set(Exchange.class_trait_names(config=True))
    unknown = sorted(set(options) - known)
    if unknown:
        raise TypeError(
            f"configure() got unknown option(s) {', '.join(unknown)}; "
            f"known: {', '.join(sorted(known))}"
        )
    for entry, cls in PLUGIN_CLASSES.items():
        setattr(c.ExchangeFactory, entry, f"{cls.__module__}.{cls.__qualname__}")
    # ngshare_exchange's `ngshare-course-management` calls c.ExchangeFactory.exchange()
    # without a config and reads .ngshare_url: give it a class that knows the URL.
    c.ExchangeFactory.exchange = _exchange_knowing(url)
    if url is not None:
        c.Exchange.url = url
    for name, value in options.items():
        setattr(c.Exchange, name, value)


def _exchange_knowing(url: str | None) -> type[Exchange]:
    """A subclass of :class:`Exchange` whose default ``url`` is ``url`` (when given)."""
    return type("Exchange", (Exchange,), {"configured_url": url or "", "__module__": __name__})


__all__ = [
    "PLUGIN_CLASSES",
    "Exchange",
    "ExchangeCollect",
    "ExchangeFetchAssignment",
    "ExchangeFetchFeedback",
    "ExchangeList",
    "ExchangeReleaseAssignment",
    "ExchangeReleaseFeedback",
    "ExchangeSubmit",
    "configure",
]
