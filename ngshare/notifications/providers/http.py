"""What every provider speaking HTTP/1.1 shares: an aiohttp session of its own, kept alive.

Connecting, resolving and closing for every message cost the server more CPU
than building and recording the message (benchmarks/results/notify.md), so
each provider sends over one ``aiohttp`` session whose connections to the
provider's host stay open between messages. aiohttp comes with pywebpush, so
this adds no dependency; APNs needs HTTP/2 and has its own client (httpx).
``c.<Provider>.keep_alive = False`` closes each connection after its request.

Proxies come from the usual ``https_proxy`` / ``no_proxy`` environment, read
once per origin: aiohttp's own ``trust_env`` reads them, and ``~/.netrc``,
on every request.
"""

from __future__ import annotations

import ssl
from typing import Any
from urllib.parse import urlsplit
from urllib.request import getproxies, proxy_bypass

import aiohttp
from traitlets import Bool

from ngshare.notifications.providers.base import Provider


class HttpProvider(Provider):
    """A provider that sends through HTTP requests (Twilio, Web Push).

    :meth:`start` opens the session (as wide as ``concurrency × max_batch``),
    :meth:`close` closes it; subclasses that keep more call ``super()``.
    """

    keep_alive = Bool(
        True,
        help="""Reuse connections to the provider between requests; False: a new
        connection per request.""",
    ).tag(config=True)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._session: aiohttp.ClientSession | None = None
        self._proxies: dict[str, str | None] = {}

    async def start(self) -> None:
        """Open the session (in the running loop)."""
        if self._session is None:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(
                    limit=max(1, self.concurrency * self.max_batch),
                    force_close=not self.keep_alive,
                ),
                timeout=aiohttp.ClientTimeout(
                    total=self.timeout_seconds, connect=min(10.0, self.timeout_seconds)
                ),
            )

    async def close(self) -> None:
        """Close the session and its connections."""
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def post(self, url: str, **kwargs: Any) -> tuple[int, Any, bytes]:
        """POST to ``url``; ``(status, headers, body)`` (the body up to 64 KiB).

        Raises what aiohttp raises for a connection that fails or times out
        (``aiohttp.ClientError``, ``asyncio.TimeoutError``, ``OSError``).
        """
        if self._session is None:
            await self.start()
        assert self._session is not None
        async with self._session.post(url, proxy=self.proxy_for(url), **kwargs) as response:
            return response.status, response.headers, await response.content.read(65536)

    def proxy_for(self, url: str) -> str | None:
        """The proxy the environment names for ``url``'s origin, if any (cached)."""
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        if origin not in self._proxies:
            proxy = getproxies().get(parts.scheme)
            if proxy and parts.hostname and proxy_bypass(parts.hostname):
                proxy = None
            self._proxies[origin] = proxy or None
        return self._proxies[origin]


def http2_client(provider: Provider, ca_file: str = "") -> Any:
    """An ``httpx.AsyncClient`` speaking HTTP/2 (APNs requires it; FCM shares it).

    As wide as the provider's ``concurrency``, bounded by its ``timeout_seconds``,
    trusting ``ca_file`` when given (a stand-in's certificate), else the system's
    CAs. httpx is imported here, on first use: only servers sending to Apple or
    Google pay for loading it.
    """
    import httpx

    verify: ssl.SSLContext | bool = True
    if ca_file:
        verify = ssl.create_default_context(cafile=ca_file)
    return httpx.AsyncClient(
        http2=True,
        verify=verify,
        timeout=httpx.Timeout(
            provider.timeout_seconds, connect=min(10.0, provider.timeout_seconds)
        ),
        limits=httpx.Limits(max_connections=max(1, provider.concurrency)),
    )
