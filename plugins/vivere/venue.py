"""The schedule and the venue: events, locations (with their maps) and the event times.

Database functions; run them through ``ctx.db.run``. ``base_url`` is the
absolute URL of Vivere's mount (``https://host/api/vivere/``), for the map
links of Location objects. Every change is announced on
:data:`~ngshare_vivere.channels.EVENTS` after its commit.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from ngshare_vivere import channels, errors
from ngshare_vivere.config import TIME_NAMES
from ngshare_vivere.models import PRIMARY_RANK, Event, EventTime, Location
from ngshare_vivere.wire import event_json, location_json, times_json
from sqlalchemy import select
from sqlalchemy.orm import Session

from ngshare.plugin_api import ApiError, utcnow

if TYPE_CHECKING:
    from ngshare.plugin_api import EventBus

# -- times ---------------------------------------------------------------------------


def get_times(session: Session, defaults: dict[str, datetime]) -> dict[str, Any]:
    """GET times: the organisers' values over the configured defaults."""
    stored = {row.name: row.value for row in session.scalars(select(EventTime))}
    return times_json({name: stored.get(name, defaults[name]) for name in TIME_NAMES})


def set_times(
    session: Session,
    bus: EventBus,
    values: dict[str, datetime | None],
    defaults: dict[str, datetime],
) -> dict[str, Any]:
    """Store the given times; ``None`` goes back to the configured default."""
    for name, value in values.items():
        row = session.get(EventTime, name, with_for_update=True)
        if value is None:
            if row is not None:
                session.delete(row)
        elif row is None:
            session.add(EventTime(name=name, value=value))
        else:
            row.value, row.updated_at = value, utcnow()
    session.flush()
    times = get_times(session, defaults)
    bus.publish_after_commit(session, channels.EVENTS, channels.TIMES_UPDATED, times)
    return times


# -- locations --------------------------------------------------------------------------


def list_maps(session: Session, base_url: str) -> list[dict[str, Any]]:
    """Primary locations, by rank."""
    rows = session.scalars(
        select(Location).where(Location.rank >= PRIMARY_RANK).order_by(Location.rank, Location.pk)
    )
    return [location_json(loc, base_url) for loc in rows]


def list_locations(session: Session, base_url: str) -> list[dict[str, Any]]:
    """Every location (organisers): primary ones first, by rank, then the others by name."""
    rows = session.scalars(select(Location))
    ordered = sorted(rows, key=lambda x: (x.rank < PRIMARY_RANK, x.rank, x.name, x.pk))
    return [location_json(loc, base_url) for loc in ordered]


def map_of(session: Session, pk: int) -> tuple[str, str]:
    """``(sha256, content type)`` of a location's map image."""
    location = session.get(Location, pk)
    if location is None:
        raise ApiError(404, errors.ERR_LOCATION_NOT_FOUND)
    if location.map_sha256 is None or location.map_content_type is None:
        raise ApiError(404, errors.ERR_MAP_NOT_FOUND)
    return location.map_sha256, location.map_content_type


def _location(session: Session, pk: int) -> Location:
    location = session.get(Location, pk, with_for_update=True)
    if location is None:
        raise ApiError(404, errors.ERR_LOCATION_NOT_FOUND)
    return location


def create_location(
    session: Session, bus: EventBus, fields: dict[str, Any], base_url: str
) -> dict[str, Any]:
    location = Location(name=fields["name"], rank=fields.get("rank", -1))
    session.add(location)
    session.flush()
    payload = location_json(location, base_url)
    bus.publish_after_commit(session, channels.EVENTS, channels.LOCATION_CREATED, payload)
    return payload


def update_location(
    session: Session, bus: EventBus, pk: int, changes: dict[str, Any], base_url: str
) -> dict[str, Any]:
    """Change ``name``, ``rank`` or the map (``map_sha256``, ``map_content_type``, ``map_size``)."""
    location = _location(session, pk)
    for name, value in changes.items():
        setattr(location, name, value)
    location.updated_at = utcnow()
    session.flush()
    payload = location_json(location, base_url)
    bus.publish_after_commit(session, channels.EVENTS, channels.LOCATION_UPDATED, payload)
    return payload


def delete_location(session: Session, bus: EventBus, pk: int, base_url: str) -> dict[str, Any]:
    """Delete a location no event uses (409 otherwise). Its map blob stays in the store."""
    location = _location(session, pk)
    if session.scalar(select(Event.pk).where(Event.location_pk == pk).limit(1)) is not None:
        raise ApiError(409, errors.ERR_LOCATION_IN_USE)
    payload = location_json(location, base_url)
    session.delete(location)
    bus.publish_after_commit(session, channels.EVENTS, channels.LOCATION_DELETED, payload)
    return payload


# -- events -------------------------------------------------------------------------------


def _event_json(session: Session, event: Event, base_url: str) -> dict[str, Any]:
    location = None if event.location_pk is None else session.get(Location, event.location_pk)
    return event_json(event, location, base_url)


def list_events(session: Session, base_url: str) -> list[dict[str, Any]]:
    """Every event by start time (then end time), with its location."""
    rows = session.execute(
        select(Event, Location)
        .outerjoin(Location, Location.pk == Event.location_pk)
        .order_by(Event.start_time, Event.end_time, Event.pk)
    )
    return [event_json(event, location, base_url) for event, location in rows]


def _check_event(session: Session, fields: dict[str, Any]) -> None:
    """Refuse an event whose times are reversed or whose location does not exist.

    Called with the event's would-be fields *before* any is set on a row, so
    that nothing is flushed first: an unknown ``location_pk`` must be this 400,
    not a foreign-key error at the flush. The location is read ``FOR SHARE``
    (PostgreSQL), so a concurrent delete waits for this transaction and then
    sees the event (409) instead of breaking the reference.
    """
    if fields["end_time"] < fields["start_time"]:
        raise ApiError(400, errors.ERR_END_BEFORE_START)
    location_pk = fields.get("location_pk")
    if (
        location_pk is not None
        and session.get(Location, location_pk, with_for_update={"read": True}) is None
    ):
        raise ApiError(400, errors.ERR_UNKNOWN_LOCATION)


def create_event(
    session: Session, bus: EventBus, fields: dict[str, Any], base_url: str
) -> dict[str, Any]:
    _check_event(session, fields)
    event = Event(**fields)
    session.add(event)
    session.flush()
    payload = _event_json(session, event, base_url)
    bus.publish_after_commit(session, channels.EVENTS, channels.EVENT_CREATED, payload)
    return payload


def _event(session: Session, pk: int) -> Event:
    event = session.get(Event, pk, with_for_update=True)
    if event is None:
        raise ApiError(404, errors.ERR_EVENT_NOT_FOUND)
    return event


def update_event(
    session: Session, bus: EventBus, pk: int, changes: dict[str, Any], base_url: str
) -> dict[str, Any]:
    event = _event(session, pk)
    current = {
        "start_time": event.start_time,
        "end_time": event.end_time,
        "location_pk": event.location_pk,
    }
    _check_event(session, {**current, **changes})
    for name, value in changes.items():
        setattr(event, name, value)
    event.updated_at = utcnow()
    session.flush()
    payload = _event_json(session, event, base_url)
    bus.publish_after_commit(session, channels.EVENTS, channels.EVENT_UPDATED, payload)
    return payload


def delete_event(session: Session, bus: EventBus, pk: int, base_url: str) -> dict[str, Any]:
    event = _event(session, pk)
    payload = _event_json(session, event, base_url)
    session.delete(event)
    bus.publish_after_commit(session, channels.EVENTS, channels.EVENT_DELETED, payload)
    return payload
