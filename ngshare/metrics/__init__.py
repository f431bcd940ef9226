"""Prometheus metrics at ``{prefix}metrics``: requests, bytes, database, jobs, live channels.

:class:`~ngshare.metrics.instruments.ServerMetrics` counts every answered
request (by route pattern, never by raw path, so that the number of series
stays bounded); :mod:`ngshare.metrics.gauges` reads the database-backed
gauges when a scraper asks; :class:`~ngshare.metrics.handlers.MetricsHandler`
serves them to admins and to a scraper holding ``c.NgShare.metrics_token``.
"""

from ngshare.metrics.handlers import MetricsHandler
from ngshare.metrics.instruments import ServerMetrics

__all__ = ["MetricsHandler", "ServerMetrics"]
