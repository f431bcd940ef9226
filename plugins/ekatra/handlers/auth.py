"""Accounts: ``auth/signup``, ``auth/login``, ``auth/forgot``, ``auth/reset/<token>``.

An Ekatra account is a core local account whose username is the e-mail
address (``local:ada@example.org``); logging in gives a core API token, sent
back as ``Authorization: Bearer <token>``. JupyterHub users need no account.

``auth/forgot`` e-mails a single-use reset link that expires
(``c.AccountService.reset_token_expiry_seconds``) through the notifications
service, and answers the same whether or not the address has an account. It
never returns the token: the original did, so anyone who knew an e-mail
address could take the account over.
"""

from __future__ import annotations

import re
from datetime import timedelta

from ngshare_ekatra import errors
from ngshare_ekatra.handlers.base import EkatraHandler
from ngshare_ekatra.models import MAX_NAME, Profile
from ngshare_ekatra.wire import MISSING, field, text
from sqlalchemy.orm import Session

from ngshare.plugin_api import (
    AccountError,
    AccountExists,
    ApiError,
    NewAccount,
    create_account,
    issue_token,
    public,
    utcnow,
)

MAX_PASSWORD = 1024
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
PASSWORD_ALIASES = ("new-password", "new_password")
CONFIRM_ALIASES = ("conform-password", "confirm-password", "conform_password")


def email_in(body: dict) -> str:
    value = text(body, "email", MAX_NAME)
    if not _EMAIL.match(value):
        raise ApiError(400, errors.ERR_BAD_EMAIL)
    return value.lower()


def sign_up(session: Session, new: NewAccount, name: str, email: str, contact: str) -> int:
    """Save the account and its profile together; the core user's id."""
    account = create_account(session, new)
    session.add(Profile(user_pk=account.user_id, name=name, email=email, contact=contact))
    return account.user_id


def log_in(session: Session, user_name: str, expires_in: float) -> str:
    expires_at = utcnow() + timedelta(seconds=expires_in)
    return issue_token(
        session, user_name, issuer="ekatra", note="ekatra login", expires_at=expires_at
    ).secret


class SignupHandler(EkatraHandler):
    """``ekatra/auth/signup``: POST ``{name, email, contact, password}`` -> ``{"message", "id"}``.

    400 for a missing field, a malformed e-mail or a weak password; 409 if the
    e-mail has an account.
    """

    @public
    async def post(self) -> None:
        body = self.body()
        if any(field(body, name) in (MISSING, None, "") for name in ("email", "password")):
            raise ApiError(400, errors.ERR_FIELDS)  # the original's answer
        email = email_in(body)
        password = text(body, "password", MAX_PASSWORD, strip=False)
        name = text(body, "name", MAX_NAME, required=False)
        contact = field(body, "contact")
        if isinstance(contact, int) and not isinstance(contact, bool):
            contact = str(contact)  # the original's Swagger model said integer
        contact = text({"contact": contact}, "contact", 32, required=False, blank=True)
        try:
            new = await self.ctx.accounts.prepare(email, password)
            user_id = await self.ctx.db.run(
                sign_up,
                new,
                email if name is MISSING else name,
                email,
                "" if contact is MISSING else contact,
            )
        except AccountExists:
            raise ApiError(409, errors.ERR_EMAIL_EXISTS.format(email=email)) from None
        except AccountError as e:
            raise ApiError(400, str(e)) from None
        self.ok("Success", id=str(user_id))


class LoginHandler(EkatraHandler):
    """``ekatra/auth/login``: POST ``{email, password}`` -> ``{"message", "token"}``.

    400 for a missing field; 401 for a wrong password or an unknown e-mail
    (one answer for both, after the same work).
    """

    @public
    async def post(self) -> None:
        body = self.body()
        email = text(body, "email", MAX_NAME)
        password = text(body, "password", MAX_PASSWORD, strip=False)
        account = await self.ctx.accounts.authenticate(email, password)
        if account is None:
            raise ApiError(401, errors.ERR_BAD_LOGIN)
        token = await self.ctx.db.run(
            log_in, account.user_name, self.settings_.token_expiry_seconds
        )
        self.ok(token=token)


class ForgotHandler(EkatraHandler):
    """``ekatra/auth/forgot``: POST ``{email}`` -> 200 ``{"message"}``, always the same.

    If the address has an account, a reset link is e-mailed to it. 400 for a
    missing or malformed e-mail.
    """

    @public
    async def post(self) -> None:
        email = email_in(self.body())
        issued = await self.ctx.accounts.issue_reset_token(email, issuer="ekatra")
        if issued is not None:
            template = self.settings_.reset_link or self.mount_url() + "auth/reset/{token}"
            link = template.replace("{token}", issued.secret)
            await self.ctx.notifications.submit(
                plugin="ekatra",
                channel="email",
                to=email,
                subject="Reset your Ekatra password",
                body=(
                    "Someone asked to reset the password of your Ekatra account.\n\n"
                    f"To choose a new password, use this link (once, soon):\n{link}\n\n"
                    "If it was not you, ignore this message: your password stays as it is."
                ),
                user=issued.info.user,
            )
        self.ok(errors.ERR_FORGOT_SENT)


class ResetHandler(EkatraHandler):
    """``ekatra/auth/reset/<token>``: POST ``{password, confirm_password}`` -> 200.

    The README's ``new-password`` / ``conform-password`` are accepted too.
    400 for a missing field, passwords that differ or a weak password; 403
    for a token that is unknown, used or expired. Every token of the account
    is revoked: a stolen session ends with the reset.
    """

    @public
    async def post(self, token: str) -> None:
        body = self.body()
        password = text(body, "password", MAX_PASSWORD, aliases=PASSWORD_ALIASES, strip=False)
        confirm = text(body, "confirm_password", MAX_PASSWORD, aliases=CONFIRM_ALIASES, strip=False)
        if password != confirm:
            raise ApiError(400, errors.ERR_PASSWORD_MISMATCH)
        try:
            account = await self.ctx.accounts.reset_password(token, password)
        except AccountError as e:
            raise ApiError(400, str(e)) from None
        if account is None:
            raise ApiError(403, errors.ERR_BAD_RESET_TOKEN)
        if "@" in account.username:
            await self.ctx.notifications.submit(
                plugin="ekatra",
                channel="email",
                to=account.username,
                subject="Your Ekatra password was reset",
                body="The password of your Ekatra account was reset; every session was ended.",
                user=account.user_name,
            )
        self.ok("password reset success")


handlers = [
    (r"auth/signup/?", SignupHandler),
    (r"auth/login/?", LoginHandler),
    (r"auth/forgot/?", ForgotHandler),
    (r"auth/reset/(?P<token>[^/]+)/?", ResetHandler),
]
