"""The hub is asked through pycurl's kept-alive connections when pycurl is installed.

``use_pycurl_if_installed`` sets Tornado's process-wide HTTP client, so each
case runs in a child process.
"""

import subprocess
import sys

import pytest

CHOOSE = """
import sys
if sys.argv[1] == "hidden":
    sys.modules["pycurl"] = None  # as if it were not installed
from tornado.httpclient import AsyncHTTPClient
from ngshare.hub import use_pycurl_if_installed
print(use_pycurl_if_installed(), type(AsyncHTTPClient()).__name__)
"""


def _choose(mode: str) -> list[str]:
    out = subprocess.run(
        [sys.executable, "-c", CHOOSE, mode],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return out.stdout.split()


def test_with_pycurl_the_hub_is_asked_through_curl():
    pytest.importorskip("pycurl")
    assert _choose("installed") == ["True", "CurlAsyncHTTPClient"]


def test_without_pycurl_tornados_own_client_stays():
    assert _choose("hidden") == ["False", "SimpleAsyncHTTPClient"]
