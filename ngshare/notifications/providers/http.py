"""What every provider speaking HTTP/1.1 shares: an aiohttp session of its own, kept alive.

Connecting, resolving and closing for every message cost the server more CPU
than building and recording the message (benchmarks/results/notify.md), so
each provider sends over one ``aiohttp`` session whose connections to the
provider's host stay open between messages. aiohttp comes with pywebpush, so
this adds no dependency; APNs needs HTTP/2 and has its own client (httpx).
``c.<Provider>.keep_alive = False`` closes each connection after its request.
"""

from __future__ import annotations

import aiohttp
from traitlets import Bool

from ngshare.notifications.providers.base import Provider


class HttpProvider(Provider):
    """A provider that sends through HTTP requests (Twilio, Web Push)."""

    keep_alive = Bool(
        True,
        help="""Reuse connections to the provider between requests; False: a new
        connection per request.""",
    ).tag(config=True)

    def http_session(self, max_connections: int) -> aiohttp.ClientSession:
        """A session of this provider's own, ``max_connections`` requests at once (in a loop).

        ``timeout_seconds`` bounds each request; proxies come from the usual
        ``https_proxy`` / ``no_proxy`` environment, as with any HTTP client.
        """
        return aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(
                limit=max(1, max_connections), force_close=not self.keep_alive
            ),
            timeout=aiohttp.ClientTimeout(
                total=self.timeout_seconds, connect=min(10.0, self.timeout_seconds)
            ),
            trust_env=True,
        )
