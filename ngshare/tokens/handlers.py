"""The token routes: the caller lists and revokes their own core tokens (``ctx.tokens``)."""

from __future__ import annotations

from ngshare.db import MAX_KEY
from ngshare.web import ApiError, APIHandler, authenticated

ERR_TOKEN_NOT_FOUND = "Token not found"


class TokenListHandler(APIHandler):
    """``{prefix}tokens``: the caller's own tokens.

    GET lists the active ones (``{"success": true, "tokens": [...]}``, never a
    secret); DELETE revokes all of them (``{"success": true, "revoked": n}``).
    """

    @authenticated
    async def get(self) -> None:
        assert self.identity is not None
        tokens = await self.ctx.tokens.list_tokens(self.identity.name)
        self.write_json({"success": True, "tokens": [t.to_json() for t in tokens]})

    @authenticated
    async def delete(self) -> None:
        assert self.identity is not None
        revoked = await self.ctx.tokens.revoke_all(self.identity.name)
        self.write_json({"success": True, "revoked": revoked})


class TokenHandler(APIHandler):
    """``{prefix}tokens/<token_id>``: DELETE revokes one of the caller's tokens.

    404 when the token is not the caller's or no longer active, so token ids
    tell nobody anything about other people's tokens.
    """

    @authenticated
    async def delete(self, token_id: str) -> None:
        assert self.identity is not None
        pk = int(token_id)
        if pk > MAX_KEY or not await self.ctx.tokens.revoke(pk, user=self.identity.name):
            raise ApiError(404, ERR_TOKEN_NOT_FOUND)
        self.write_json({"success": True, "revoked": 1})
