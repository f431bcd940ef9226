"""User accounts: ``user/create`` and ``user/login``, on the core's accounts and tokens.

A Vivere account is a core local account (``ctx.accounts``): the person
``jason`` is the core user ``local:jason``. Logging in gives a core API token
(``ctx.tokens``), accepted in the seed's ``X-MenloHacks-Authorization``
header as well as ``Authorization: Bearer``. JupyterHub users need no
account: their hub identity works on every route. Vivere itself keeps only
the display name (:class:`ngshare_vivere.models.Profile`).

Sign-up is one transaction: the account, the profile and the first token
are saved together (:func:`sign_up`), so a failure at any step leaves no
account and the person can retry with the same username.
"""

from __future__ import annotations

from datetime import timedelta

from ngshare_vivere import errors
from ngshare_vivere.handlers.base import VivereHandler
from ngshare_vivere.models import MAX_NAME, Profile
from sqlalchemy.orm import Session

from ngshare.plugin_api import (
    AccountError,
    AccountExists,
    ApiError,
    NewAccount,
    create_account,
    get_or_create_user,
    issue_token,
    public,
    utcnow,
)

#: Passwords longer than this are refused before any hashing.
MAX_PASSWORD = 1024


def save_profile_and_issue(
    session: Session, user_name: str, display_name: str | None, expires_in: float
) -> tuple[str, str]:
    """Record the display name (if given) and issue a token, in one transaction.

    Returns ``(token, display name)``; without a stored name it is the user name.
    """
    user = get_or_create_user(session, user_name)
    profile = session.get(Profile, user.pk)
    if display_name is not None:
        if profile is None:
            profile = Profile(user_pk=user.pk, name=display_name)
            session.add(profile)
        else:
            profile.name = display_name
    name = profile.name if profile is not None else user_name
    expires_at = None if expires_in == 0 else utcnow() + timedelta(seconds=expires_in)
    issued = issue_token(
        session, user_name, issuer="vivere", note="vivere login", expires_at=expires_at
    )
    return issued.secret, name


def sign_up(session: Session, new: NewAccount, display_name: str, expires_in: float) -> str:
    """Save the account, its profile and its first token together; the token.

    :raises AccountExists: the username was taken since it was prepared.
    """
    account = create_account(session, new)
    token, _ = save_profile_and_issue(session, account.user_name, display_name, expires_in)
    return token


class UserCreateHandler(VivereHandler):
    """``vivere/user/create``: POST ``{name, username, password}`` -> 201 ``{"token": ...}``.

    400 for a missing, blank or unacceptable parameter (the core's username and
    password rules), 409 if the username is taken.
    """

    @public
    async def post(self) -> None:
        name = self.text("name", MAX_NAME)
        username = self.text("username", MAX_NAME)
        password = self.text("password", MAX_PASSWORD, strip=False)
        assert name is not None and username is not None and password is not None
        try:
            new = await self.ctx.accounts.prepare(username, password)
            token = await self.ctx.db.run(sign_up, new, name, self.vivere.token_expiry_seconds)
        except AccountExists:
            raise ApiError(409, errors.ERR_USER_EXISTS) from None
        except AccountError as e:
            raise ApiError(400, str(e)) from None
        self.success({"token": token}, 201)


class UserLoginHandler(VivereHandler):
    """``vivere/user/login``: POST ``{username, password}`` -> ``{name, token, username}``.

    400 for a missing or blank parameter; 401 for a wrong password or an
    unknown username (the same answer, after the same work).
    """

    @public
    async def post(self) -> None:
        username = self.text("username", MAX_NAME)
        password = self.text("password", MAX_PASSWORD, strip=False)
        assert username is not None and password is not None
        account = await self.ctx.accounts.authenticate(username, password)
        if account is None:
            raise ApiError(401, errors.ERR_BAD_LOGIN)
        token, name = await self.ctx.db.run(
            save_profile_and_issue, account.user_name, None, self.vivere.token_expiry_seconds
        )
        self.success({"name": name, "token": token, "username": account.username})


handlers = [
    (r"user/create/?", UserCreateHandler),
    (r"user/login/?", UserLoginHandler),
]
