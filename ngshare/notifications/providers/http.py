"""What every provider speaking HTTP shares: a client of its own, with kept-alive connections.

Tornado's own client opens a new TCP connection for each request; at a few
thousand messages a minute, connecting and closing cost the server more than
building and recording the messages. With pycurl installed (the ``curl``
extra), each provider gets Tornado's ``CurlAsyncHTTPClient`` instead: libcurl
keeps connections alive per host, parses answers in C, and speaks the same
``fetch`` interface, so a provider's code is the same with either client
(``c.<Provider>.keep_alive = False`` chooses Tornado's own).
"""

from __future__ import annotations

from tornado.httpclient import AsyncHTTPClient
from traitlets import Bool

from ngshare.notifications.providers.base import Provider


def curl_installed() -> bool:
    """Whether pycurl can be imported (the ``curl`` extra)."""
    try:
        import pycurl  # noqa: F401 - only whether it is installed
    except ImportError:
        return False
    return True


class HttpProvider(Provider):
    """A provider that sends through HTTP requests (Twilio, Web Push, FCM)."""

    keep_alive = Bool(
        True,
        help="""Send over kept-alive connections (Tornado's curl client) when pycurl is
        installed; False: a new connection per request (Tornado's own client).""",
    ).tag(config=True)

    def http_client(self, max_clients: int) -> AsyncHTTPClient:
        """A client of this provider's own, for ``max_clients`` requests at once."""
        max_clients = max(1, max_clients)
        if self.keep_alive and curl_installed():
            from tornado.curl_httpclient import CurlAsyncHTTPClient

            return CurlAsyncHTTPClient(force_instance=True, max_clients=max_clients)
        return AsyncHTTPClient(force_instance=True, max_clients=max_clients)
