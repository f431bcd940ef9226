"""What the page tests share: fetching a page as someone, and the dev-mode XSRF pair."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlencode

from tornado.httpclient import HTTPClientError, HTTPResponse

XSRF_FIELD = re.compile(r'name="_xsrf" value="([^"]+)"')


@dataclass
class Page:
    status: int
    content_type: str
    text: str
    headers: list[tuple[str, str]]

    @property
    def xsrf(self) -> str:
        """The form token of the page (its cookie is the ``_xsrf`` cookie set with it)."""
        match = XSRF_FIELD.search(self.text)
        assert match, "the page has no form with an XSRF token"
        return match.group(1)


async def fetch(http_client, url: str, **kwargs) -> Page:
    try:
        r: HTTPResponse = await http_client.fetch(url, follow_redirects=False, **kwargs)
    except HTTPClientError as e:
        r = e.response
    return Page(
        r.code,
        r.headers.get("Content-Type", ""),
        r.body.decode("utf-8", "replace"),
        list(r.headers.get_all()),
    )


def xsrf_cookie(page: Page) -> str:
    """The ``_xsrf`` cookie the page set (Tornado's double-submit pair of the form token)."""
    for name, value in page.headers:
        if name.lower() == "set-cookie" and value.startswith("_xsrf="):
            return value.split(";", 1)[0]
    raise AssertionError("no _xsrf cookie set")


def header(page: Page, name: str) -> str | None:
    for key, value in page.headers:
        if key.lower() == name.lower():
            return value
    return None


def as_user(url: str, user: str | None, **query: str) -> str:
    args = dict(query)
    if user is not None:
        args["user"] = user
    return url + ("?" + urlencode(args) if args else "")
