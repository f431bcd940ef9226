"""Device sessions: core tokens for a signed-in device, one session per device token.

A session is a core API token (it identifies the caller on every route) and
an update token (core token of purpose ``coursegrab-update``, checked only
here) that swaps both for new ones. Both are hashed at rest and expire; a
:class:`~ngshare_coursegrab.models.DeviceSession` row ties them to the device
and its push token, which is registered with the notifications service
(``plugin="coursegrab"``) so that a provider's "this token is dead" drops the
session (:func:`drop_sessions_of_address`).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from ngshare_coursegrab.errors import ERR_DEVICE_BUSY
from ngshare_coursegrab.models import DeviceSession, Profile
from ngshare_coursegrab.notify import PLUGIN
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ngshare.plugin_api import (
    ApiError,
    User,
    get_or_create_user,
    issue_token,
    revoke_token,
    utcnow,
    verify_token,
)

if TYPE_CHECKING:
    from ngshare.plugin_api import NotificationService

UPDATE_PURPOSE = "coursegrab-update"
#: The device type's push channel; WEB devices are reached through a subscription instead.
DEVICE_CHANNEL = {"IOS": "apns", "ANDROID": "fcm"}


@dataclass(frozen=True)
class Lifetimes:
    session_seconds: float
    update_seconds: float


def device_digest(device_token: str) -> str:
    return hashlib.sha256(device_token.encode()).hexdigest()


def _unix(value: datetime) -> int:
    return int((value - datetime(1970, 1, 1)).total_seconds())


@dataclass(frozen=True)
class _Pair:
    """A new session token and update token, and what a session row records of them."""

    triple: dict[str, Any]
    values: dict[str, Any]


def _issue_pair(session: Session, user_name: str, device_type: str, lifetimes: Lifetimes) -> _Pair:
    now = utcnow()
    expires = now + timedelta(seconds=lifetimes.session_seconds)
    update_expires = now + timedelta(seconds=lifetimes.update_seconds)
    note = f"coursegrab {device_type.lower()}"
    access = issue_token(session, user_name, issuer=PLUGIN, note=note, expires_at=expires)
    refresh = issue_token(
        session,
        user_name,
        issuer=PLUGIN,
        purpose=UPDATE_PURPOSE,
        note=note,
        expires_at=update_expires,
    )
    triple = {
        "session_expiration": _unix(expires),
        "session_token": access.secret,
        "update_token": refresh.secret,
    }
    values = {
        "session_token_id": access.info.id,
        "update_token_id": refresh.info.id,
        "expires_at": expires,
        "update_expires_at": update_expires,
        "last_used_at": now,
    }
    return _Pair(triple, values)


def _apply(row: DeviceSession, pair: _Pair) -> None:
    for name, value in pair.values.items():
        setattr(row, name, value)


def _register_device(
    session: Session, notifications: NotificationService, user_name: str, row: DeviceSession
) -> None:
    channel = DEVICE_CHANNEL.get(row.device_type)
    if channel is None or row.device_token is None:
        row.address_id = None
        return
    record = notifications.add_address(
        session, user=user_name, channel=channel, address=row.device_token, plugin=PLUGIN
    )
    row.address_id = record["id"]


def _end(
    session: Session, notifications: NotificationService, row: DeviceSession, user: str
) -> None:
    """Revoke a session's tokens, forget its device address, delete it."""
    revoke_token(session, row.session_token_id)
    revoke_token(session, row.update_token_id)
    if row.address_id is not None:
        notifications.remove_address(session, user=user, address_id=row.address_id)
    session.delete(row)


def start_session(
    session: Session,
    notifications: NotificationService,
    lifetimes: Lifetimes,
    *,
    user_name: str,
    device_type: str,
    device_token: str | None,
    email: str | None,
) -> dict[str, Any]:
    """Sign a device in: a new session, or the device token's existing one refreshed.

    A person's first sign-in from a phone chooses that phone's push channel
    for them (as the original did); later sign-ins never change their choice.
    """
    user = get_or_create_user(session, user_name)
    profile = session.get(Profile, user.pk)
    if profile is None:
        profile = Profile(
            user_pk=user.pk,
            notification=device_type if device_type in DEVICE_CHANNEL else None,
            statuses="OPEN",
            email=email,
        )
        session.add(profile)
    elif email and not profile.email:
        profile.email = email
    digest = None if device_token is None else device_digest(device_token)
    pair = _issue_pair(session, user_name, device_type, lifetimes)
    row = _device_session(session, digest)
    if row is None:
        row = DeviceSession(
            user_pk=user.pk,
            device_type=device_type,
            device_token=device_token,
            device_digest=digest,
            **pair.values,
        )
        try:
            with session.begin_nested():
                session.add(row)
        except IntegrityError:  # the same device signed in at the same moment: refresh that
            row = _device_session(session, digest)
            if row is None:
                raise
    if row.session_token_id != pair.values["session_token_id"]:  # an existing session
        revoke_token(session, row.session_token_id)
        revoke_token(session, row.update_token_id)
        if row.user_pk != user.pk and row.address_id is not None:
            notifications.remove_address(
                session, user=_user_name(session, row), address_id=row.address_id
            )
        row.user_pk, row.device_type = user.pk, device_type
        _apply(row, pair)
    _register_device(session, notifications, user_name, row)
    session.flush()
    return pair.triple


def _device_session(session: Session, digest: str | None) -> DeviceSession | None:
    """The session of a device, locked (PostgreSQL) so that concurrent sign-ins take turns."""
    if digest is None:
        return None
    return session.scalar(
        select(DeviceSession)
        .where(DeviceSession.device_digest == digest)
        .with_for_update()
        .execution_options(populate_existing=True)
    )


def refresh_session(
    session: Session, lifetimes: Lifetimes, update_secret: str
) -> dict[str, Any] | None:
    """Swap an update token for a new session and update token; ``None`` if it is not valid.

    The old update token is spent by a conditional revoke: of two refreshes
    with one token exactly one wins, and the old token never works again.
    """
    info = verify_token(session, update_secret, purpose=UPDATE_PURPOSE)
    if info is None:
        return None
    row = session.scalar(
        select(DeviceSession).where(DeviceSession.update_token_id == info.id).with_for_update()
    )
    if row is None or not revoke_token(session, info.id):
        return None
    revoke_token(session, row.session_token_id)
    pair = _issue_pair(session, info.user, row.device_type, lifetimes)
    _apply(row, pair)
    session.flush()
    return pair.triple


def session_of_token(session: Session, token_id: int | None) -> DeviceSession | None:
    if token_id is None:
        return None
    return session.scalar(select(DeviceSession).where(DeviceSession.session_token_id == token_id))


def set_device_token(
    session: Session,
    notifications: NotificationService,
    *,
    user_name: str,
    token_id: int,
    device_token: str,
) -> bool:
    """Attach a push token to the caller's session; ``False`` if the caller has none.

    Another session holding the same device token ends: one session per device.
    """
    row = session_of_token(session, token_id)
    if row is None:
        return False
    digest = device_digest(device_token)
    if row.device_digest == digest:
        _register_device(session, notifications, user_name, row)
        return True
    if row.address_id is not None:
        notifications.remove_address(session, user=user_name, address_id=row.address_id)
        row.address_id = None
    for _attempt in range(2):
        other = _device_session(session, digest)
        if other is not None:
            _end(session, notifications, other, _user_name(session, other))
            session.flush()
        try:
            with session.begin_nested():
                row.device_token, row.device_digest = device_token, digest
        except IntegrityError:  # another session took this device token at the same moment
            session.refresh(row)
            continue
        break
    else:
        raise ApiError(409, ERR_DEVICE_BUSY)
    _register_device(session, notifications, user_name, row)
    session.flush()
    return True


def _user_name(session: Session, row: DeviceSession) -> str:
    return session.scalar(select(User.name).where(User.pk == row.user_pk)) or ""


def drop_sessions_of_address(
    session: Session, notifications: NotificationService, address: str
) -> int:
    """End every session whose device token is ``address`` (a provider said it is dead)."""
    rows = session.scalars(
        select(DeviceSession).where(DeviceSession.device_digest == device_digest(address))
    ).all()
    for row in rows:
        _end(session, notifications, row, _user_name(session, row))
    return len(rows)


def clean_sessions(session: Session, notifications: NotificationService) -> int:
    """End sessions that can no longer be used, or whose device is dead; how many.

    Dead: the update token expired, or the device's address was disabled by a
    provider (the ``invalid_recipient`` hook ends those at once; this catches
    any whose hook did not run, e.g. the server stopped in between).
    """
    rows = session.execute(
        select(DeviceSession, User.name).join(User, User.pk == DeviceSession.user_pk)
    ).all()
    now = utcnow()
    live: dict[str, set[int]] = {}
    ended = 0
    for row, name in rows:
        dead = row.update_expires_at < now
        if not dead and row.address_id is not None:
            if name not in live:
                addresses = notifications.addresses(session, name)
                live[name] = {a["id"] for a in addresses if a["disabled_at"] is None}
            dead = row.address_id not in live[name]
        if dead:
            _end(session, notifications, row, name)
            ended += 1
    return ended
