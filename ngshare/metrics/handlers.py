"""``{prefix}metrics``: the Prometheus text exposition, for admins and for a scraper's token."""

from __future__ import annotations

import hmac
from typing import TYPE_CHECKING

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from ngshare.metrics.gauges import pool_gauges, read_database_gauges
from ngshare.web import ERR_NOT_ADMIN, ApiError, APIHandler, public

if TYPE_CHECKING:
    from ngshare.context import ServerContext
    from ngshare.metrics.instruments import ServerMetrics


class MetricsHandler(APIHandler):
    """``{prefix}metrics``: GET for admins, or with ``Authorization: Bearer <metrics_token>``.

    The scraper's token is compared before any identity lookup, so a scraper
    never reaches the hub; any other caller is identified as on every route.
    """

    admins_only = True

    def initialize(self, ctx: ServerContext, metrics: ServerMetrics) -> None:  # type: ignore[override]
        super().initialize(ctx)
        self.metrics = metrics

    def _holds_scraper_token(self) -> bool:
        token = self.ctx.config.metrics_token
        if not token:
            return False
        scheme, _, given = self.request.headers.get("Authorization", "").partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(given.strip(), token)

    @public  # checked here: the scraper's token, else a signed-in admin
    async def get(self) -> None:
        if not self._holds_scraper_token():
            self.identity = await self.ctx.identity.identify(self)
            if self.identity is None:
                raise ApiError(401, self.unauthenticated_message)
            if not self.identity.is_admin:
                raise ApiError(403, ERR_NOT_ADMIN)
        gauges = await self.ctx.db.run(read_database_gauges)
        events = self.ctx.events
        self.metrics.set_gauges(
            pool_gauges(self.ctx.db.engine),
            events.subscriber_count() if events is not None else 0,
            gauges,
        )
        self.set_header("Content-Type", CONTENT_TYPE_LATEST)
        self.finish(generate_latest(self.metrics.registry))


def routes(ctx: ServerContext, metrics: ServerMetrics) -> list[tuple]:
    return [(ctx.config.prefix + "metrics", MetricsHandler, {"ctx": ctx, "metrics": metrics})]
