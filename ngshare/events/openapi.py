"""OpenAPI description of the subscription endpoints, for the ``events`` service."""

from __future__ import annotations


def openapi_paths() -> dict[str, dict]:
    """The subscription endpoints, for the server's OpenAPI document."""
    prefix = "/"
    params = [
        {
            "name": "channel",
            "in": "query",
            "required": True,
            "description": "A channel to listen to; repeat for several.",
            "schema": {"type": "array", "items": {"type": "string"}},
            "style": "form",
            "explode": True,
        },
        {
            "name": "last_event_id",
            "in": "query",
            "required": False,
            "description": "Resume after this event id (SSE clients may send Last-Event-ID).",
            "schema": {"type": "integer"},
        },
    ]
    refusals = {
        "400": {"description": "No channel named, or a malformed last_event_id."},
        "401": {"description": "Not authenticated."},
        "403": {"description": "A channel the caller may not read (or a foreign origin)."},
        "404": {"description": "An unknown channel."},
        "503": {"description": "The server is shutting down."},
    }
    envelope = (
        "Each event is the JSON object {channel, event, data, id, time}; "
        "event 'ngshare.gap' (id null) means events were missed: reload."
    )
    return {
        prefix + "events/sse": {
            "get": {
                "summary": "Live events as Server-Sent Events (text/event-stream).",
                "description": envelope,
                "tags": ["core"],
                "parameters": params,
                "responses": {"200": {"description": "An event stream."}, **refusals},
            }
        },
        prefix + "events/ws": {
            "get": {
                "summary": "Live events over a WebSocket (one text message per event).",
                "description": envelope,
                "tags": ["core"],
                "parameters": params,
                "responses": {"101": {"description": "Switching to WebSocket."}, **refusals},
            }
        },
    }
