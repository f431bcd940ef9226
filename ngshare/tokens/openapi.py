"""OpenAPI description of the token routes (:mod:`ngshare.tokens.handlers`)."""

from __future__ import annotations


def openapi_paths() -> dict[str, dict]:
    """The token routes, for the server's OpenAPI document."""
    prefix = "/"
    token = {
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "prefix": {"type": "string", "description": "First characters of the secret."},
            "purpose": {"type": "string"},
            "issuer": {"type": "string"},
            "note": {"type": ["string", "null"]},
            "created_at": {"type": "string", "format": "date-time"},
            "expires_at": {"type": ["string", "null"], "format": "date-time"},
            "last_used_at": {"type": ["string", "null"], "format": "date-time"},
        },
    }

    def ok(schema: dict) -> dict:
        return {"description": "OK", "content": {"application/json": {"schema": schema}}}

    revoked = ok({"type": "object", "properties": {"success": {"const": True}, "revoked": {}}})
    return {
        prefix + "tokens": {
            "get": {
                "summary": "The caller's active core API tokens (never their secrets).",
                "tags": ["core"],
                "responses": {
                    "200": ok(
                        {
                            "type": "object",
                            "properties": {
                                "success": {"const": True},
                                "tokens": {"type": "array", "items": token},
                            },
                        }
                    ),
                    "401": {"description": "Not authenticated"},
                },
            },
            "delete": {
                "summary": "Revoke all of the caller's core tokens (log out everywhere).",
                "tags": ["core"],
                "responses": {"200": revoked, "401": {"description": "Not authenticated"}},
            },
        },
        prefix + "tokens/{token_id}": {
            "delete": {
                "summary": "Revoke one of the caller's core tokens.",
                "tags": ["core"],
                "parameters": [
                    {
                        "name": "token_id",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "integer"},
                    }
                ],
                "responses": {
                    "200": revoked,
                    "401": {"description": "Not authenticated"},
                    "404": {"description": "Not one of the caller's active tokens"},
                },
            }
        },
    }
