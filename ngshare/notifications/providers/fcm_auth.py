"""The OAuth 2.0 access token FCM wants, from a Google service account, kept fresh off the IOLoop.

``google-auth`` signs the JWT grant with the service account's key and posts
it to the account's ``token_uri``; that exchange is blocking (``requests``),
so it runs on a thread. One refresh at a time: requests that find the token
stale wait for the refresh in progress instead of starting their own.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from google.auth.exceptions import GoogleAuthError
from google.auth.transport.requests import Request
from google.oauth2 import service_account

#: The OAuth scope that lets a service account send through FCM.
FCM_SCOPE = "https://www.googleapis.com/auth/firebase.messaging"


def load_service_account(*, file: str = "", info: str = "") -> service_account.Credentials:
    """Credentials from a service-account JSON file or text; ``ValueError`` saying what is wrong."""
    if file:
        source = f"c.FcmProvider.service_account_file {file!r}"
        try:
            text = Path(file).read_text()
        except OSError as e:
            raise ValueError(f"{source}: {e.strerror or e}") from None
    else:
        source, text = "c.FcmProvider.service_account_info", info
    try:
        parsed = json.loads(text)
    except ValueError:
        raise ValueError(f"{source}: not JSON") from None
    if not isinstance(parsed, dict) or parsed.get("type") != "service_account":
        raise ValueError(
            f'{source}: not a service account key (its "type" must be "service_account")'
        )
    try:
        return service_account.Credentials.from_service_account_info(parsed, scopes=[FCM_SCOPE])
    except (ValueError, KeyError, GoogleAuthError) as e:
        raise ValueError(f"{source}: {e}") from None


class AccessToken:
    """The bearer token of one service account, refreshed before it expires or when refused."""

    def __init__(self, credentials: service_account.Credentials, timeout: float = 30.0) -> None:
        self.credentials = credentials
        self.timeout = timeout
        # one HTTP session for every refresh (refreshes never overlap: the lock)
        self._http = Request()
        self._request = _with_timeout(self._http, timeout)
        self._lock = asyncio.Lock()

    async def current(self) -> str:
        """A token valid for a few more minutes (google-auth's margin), fetched if needed."""
        if self.credentials.valid:
            return self.credentials.token
        async with self._lock:
            if not self.credentials.valid:
                await self._refresh()
            return self.credentials.token

    async def refused(self, token: str) -> str:
        """FCM answered 401 to ``token``: a new one, unless another request already got one."""
        async with self._lock:
            if self.credentials.token == token or not self.credentials.valid:
                await self._refresh()
            return self.credentials.token

    async def _refresh(self) -> None:
        await asyncio.get_running_loop().run_in_executor(
            None, self.credentials.refresh, self._request
        )

    def close(self) -> None:
        """Close the token endpoint's HTTP session."""
        self._http.session.close()


def _with_timeout(request: Request, timeout: float) -> Any:
    """``request`` with a default timeout: google-auth waits 120 s otherwise."""

    def call(*args: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("timeout", timeout)
        return request(*args, **kwargs)

    return call
