"""The notifications routes in the server's OpenAPI document (``service.openapi``)."""

from __future__ import annotations

from ngshare.notifications.addresses import CHANNELS
from ngshare.notifications.handlers import (
    ERR_ADDRESS_NOT_FOUND,
    ERR_MESSAGE_NOT_FOUND,
    ERR_NOT_ADMIN,
    ERR_NOT_FAILED,
)
from ngshare.notifications.models import STATUSES
from ngshare.notifications.push_subscription import MAX_ENDPOINT_LENGTH
from ngshare.notifications.webpush_handlers import ERR_SUBSCRIPTION_NOT_FOUND, ERR_WEBPUSH_OFF


def openapi_paths() -> dict[str, dict]:
    """The notifications routes, for the server's OpenAPI document."""
    time_or_null = {"type": ["string", "null"], "format": "date-time"}
    text_or_null = {"type": ["string", "null"]}
    message = {
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "plugin": {"type": "string", "description": "The feature set that sent it."},
            "channel": {"enum": list(CHANNELS)},
            "to": {"type": "string"},
            "user": text_or_null,
            "subject": text_or_null,
            "body": {"type": "string"},
            "status": {"enum": list(STATUSES)},
            "attempts": {"type": "integer"},
            "next_attempt_at": time_or_null,
            "provider": text_or_null,
            "provider_id": text_or_null,
            "last_error": text_or_null,
            "idempotency_key": text_or_null,
            "created_at": {"type": "string", "format": "date-time"},
            "sent_at": time_or_null,
        },
    }
    address = {
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "channel": {"enum": list(CHANNELS)},
            "address": {"type": "string"},
            "label": text_or_null,
            "plugin": text_or_null,
            "created_at": {"type": "string", "format": "date-time"},
            "disabled_at": time_or_null,
            "disabled_reason": text_or_null,
        },
    }
    preferences = {
        "type": "object",
        "properties": {c: {"type": "boolean"} for c in CHANNELS},
    }

    def ok(field_name: str, schema: dict, description: str = "OK") -> dict:
        body = {"type": "object", "properties": {"success": {"const": True}, field_name: schema}}
        return {"description": description, "content": {"application/json": {"schema": body}}}

    def form(properties: dict, required: list[str]) -> dict:
        schema = {"type": "object", "properties": properties, "required": required}
        return {
            "content": {
                "application/x-www-form-urlencoded": {"schema": schema},
                "application/json": {"schema": schema},
            }
        }

    unauthenticated = {"401": {"description": "Not authenticated"}}
    denied = {**unauthenticated, "403": {"description": ERR_NOT_ADMIN}}
    bad = {"400": {"description": "A malformed field; the message says which"}}
    string_query = {"in": "query", "schema": {"type": "string"}}
    subscription = {
        "type": "object",
        "description": "The browser's PushSubscription.toJSON().",
        "properties": {
            "endpoint": {"type": "string", "format": "uri", "maxLength": MAX_ENDPOINT_LENGTH},
            "expirationTime": {"type": ["number", "null"]},
            "keys": {
                "type": "object",
                "properties": {
                    "p256dh": {"type": "string", "description": "65 bytes, base64url"},
                    "auth": {"type": "string", "description": "16 bytes, base64url"},
                },
                "required": ["p256dh", "auth"],
            },
        },
        "required": ["endpoint", "keys"],
    }
    webpush_off = {"404": {"description": ERR_WEBPUSH_OFF}}
    return {
        "/notifications/vapid-public-key": {
            "get": {
                "summary": "The server's VAPID public key, a browser's applicationServerKey.",
                "tags": ["core"],
                "security": [],
                "responses": {
                    "200": ok(
                        "public_key",
                        {"type": "string", "description": "uncompressed P-256 point, base64url"},
                    ),
                    **webpush_off,
                },
            }
        },
        "/notifications/webpush-subscriptions": {
            "post": {
                "summary": "Register the caller's browser for Web Push (again: the same address).",
                "tags": ["core"],
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": subscription}},
                },
                "responses": {
                    "201": ok("address", address, "Registered"),
                    **bad,
                    **unauthenticated,
                    **webpush_off,
                },
            },
            "delete": {
                "summary": "Remove the caller's subscription of an endpoint.",
                "tags": ["core"],
                "parameters": [
                    {
                        "name": "endpoint",
                        "in": "query",
                        "required": True,
                        "schema": {"type": "string", "maxLength": MAX_ENDPOINT_LENGTH},
                    }
                ],
                "responses": {
                    "200": ok("removed", {"const": 1}),
                    **bad,
                    **unauthenticated,
                    "404": {"description": f"{ERR_SUBSCRIPTION_NOT_FOUND}; or {ERR_WEBPUSH_OFF}"},
                },
            },
        },
        "/notifications": {
            "get": {
                "summary": "The outbox: every message with its status (admins).",
                "tags": ["core"],
                "parameters": [
                    {"name": "status", "in": "query", "schema": {"enum": list(STATUSES)}},
                    {"name": "channel", "in": "query", "schema": {"enum": list(CHANNELS)}},
                    {"name": "plugin", **string_query},
                    {"name": "for_user", **string_query},
                    {"name": "before", "in": "query", "schema": {"type": "integer"}},
                    {
                        "name": "limit",
                        "in": "query",
                        "schema": {"type": "integer", "minimum": 1, "maximum": 1000},
                    },
                ],
                "responses": {
                    "200": ok("messages", {"type": "array", "items": message}),
                    **bad,
                    **denied,
                },
            }
        },
        "/notifications/{message_id}/retry": {
            "post": {
                "summary": "Send a failed message again, its attempts counted afresh (admins).",
                "tags": ["core"],
                "parameters": [
                    {
                        "name": "message_id",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "integer"},
                    }
                ],
                "responses": {
                    "200": ok("message", message),
                    **denied,
                    "404": {"description": ERR_MESSAGE_NOT_FOUND},
                    "409": {"description": ERR_NOT_FAILED},
                },
            }
        },
        "/notifications/addresses": {
            "get": {
                "summary": "The caller's addresses (disabled ones say why).",
                "tags": ["core"],
                "responses": {
                    "200": ok("addresses", {"type": "array", "items": address}),
                    **unauthenticated,
                },
            },
            "post": {
                "summary": "Add an address of the caller's (or enable it again).",
                "tags": ["core"],
                "requestBody": form(
                    {
                        "channel": {"enum": list(CHANNELS)},
                        "address": {"type": "string"},
                        "label": {"type": "string", "maxLength": 255},
                    },
                    ["channel", "address"],
                ),
                "responses": {"201": ok("address", address, "Added"), **bad, **unauthenticated},
            },
        },
        "/notifications/addresses/{address_id}": {
            "delete": {
                "summary": "Remove one of the caller's addresses.",
                "tags": ["core"],
                "parameters": [
                    {
                        "name": "address_id",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "integer"},
                    }
                ],
                "responses": {
                    "200": ok("removed", {"const": 1}),
                    **unauthenticated,
                    "404": {"description": ERR_ADDRESS_NOT_FOUND},
                },
            }
        },
        "/notifications/preferences": {
            "get": {
                "summary": "The caller's choice per channel (true unless turned off).",
                "tags": ["core"],
                "responses": {"200": ok("preferences", preferences), **unauthenticated},
            },
            "post": {
                "summary": "Turn a channel on or off for the caller.",
                "tags": ["core"],
                "requestBody": form(
                    {"channel": {"enum": list(CHANNELS)}, "enabled": {"type": "boolean"}},
                    ["channel", "enabled"],
                ),
                "responses": {"200": ok("preferences", preferences), **bad, **unauthenticated},
            },
        },
    }
