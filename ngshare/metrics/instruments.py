"""The request instruments and the per-scrape gauges of one server, on a registry of its own.

A registry per application (not prometheus_client's global one) lets tests
and embedding code build several servers in one process.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from tornado import web

from ngshare.openapi import route_template

if TYPE_CHECKING:
    from ngshare.metrics.gauges import DatabaseGauges

#: Requests no route matched share one label, so scanners cannot create series.
UNMATCHED = "unmatched"
#: Latency buckets (seconds): sub-millisecond answers up to minute-long uploads.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)


class RouteLabels:
    """The route pattern (``/api/assignment/{course_id}/{assignment_id}``) that answered."""

    def __init__(self, routes: list[tuple], unmatched: set[type]) -> None:
        self._by_class: dict[type, list[tuple[re.Pattern, str]]] = {}
        self._unmatched = unmatched
        for route in routes:
            pattern, handler_class = route[0], route[1]
            if handler_class in unmatched:
                continue
            regex = re.compile(pattern if pattern.endswith("$") else pattern + "$")
            self._by_class.setdefault(handler_class, []).append((regex, route_template(pattern)))

    def of(self, handler: web.RequestHandler) -> str:
        candidates = self._by_class.get(type(handler))
        if not candidates:
            return UNMATCHED
        if len(candidates) == 1:
            return candidates[0][1]
        path = handler.request.path
        return next((t for regex, t in candidates if regex.match(path)), candidates[0][1])


class ServerMetrics:
    """Every instrument of one server; :meth:`observe` runs once per answered request."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.routes = RouteLabels([], set())
        self._children: dict[tuple[str, str, int], tuple] = {}
        r = self.registry
        self.requests = Counter(
            "ngshare_http_requests",
            "Answered requests, by route pattern, method and status.",
            ["route", "method", "status"],
            registry=r,
        )
        self.duration = Histogram(
            "ngshare_http_request_duration_seconds",
            "Time from the request's arrival to its answer, by route pattern and method.",
            ["route", "method"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.received = Counter(
            "ngshare_http_request_body_bytes",
            "Request body bytes received (uploads), by route pattern.",
            ["route"],
            registry=r,
        )
        self.sent = Counter(
            "ngshare_http_response_body_bytes",
            "Response body bytes sent (downloads), by route pattern.",
            ["route"],
            registry=r,
        )
        self.pool_checked_out = Gauge(
            "ngshare_db_pool_checked_out_connections",
            "Database connections in use (taken out of the pool).",
            registry=r,
        )
        self.pool_size = Gauge(
            "ngshare_db_pool_size_connections",
            "Database connections the pool keeps (its configured size).",
            registry=r,
        )
        self.subscribers = Gauge(
            "ngshare_live_subscribers",
            "Open live-channel subscriptions (WebSocket and Server-Sent Events).",
            registry=r,
        )
        self.job_runs = Gauge(
            "ngshare_job_runs",
            "Runs of each scheduled job since it was first recorded.",
            ["job"],
            registry=r,
        )
        self.job_last_success = Gauge(
            "ngshare_job_last_success",
            "1 if the job's last run succeeded, 0 if it failed or was missed.",
            ["job"],
            registry=r,
        )
        self.outbox = Gauge(
            "ngshare_notifications_outbox_messages",
            "Notification messages in the outbox, by status.",
            ["status"],
            registry=r,
        )

    def index_routes(self, routes: list[tuple], unmatched: set[type]) -> None:
        """Learn the application's routes (``unmatched``: the catch-all handlers)."""
        self.routes = RouteLabels(routes, unmatched)

    def observe(self, handler: web.RequestHandler) -> None:
        """Count one answered request (Tornado's ``log_function`` calls this)."""
        route = self.routes.of(handler)
        key = (route, handler.request.method or "", handler.get_status())
        children = self._children.get(key)
        if children is None:  # labels() takes a lock and builds a key; once per series is enough
            children = self._children[key] = (
                self.requests.labels(key[0], key[1], str(key[2])),
                self.duration.labels(key[0], key[1]),
                self.received.labels(route),
                self.sent.labels(route),
            )
        requests, duration, received_bytes, sent_bytes = children
        requests.inc()
        duration.observe(handler.request.request_time())
        received = getattr(handler, "body_bytes_received", None)
        if received is None:
            received = len(handler.request.body or b"")
        if received:
            received_bytes.inc(received)
        sent = _content_length(handler)
        if sent:
            sent_bytes.inc(sent)

    def set_gauges(self, pool: dict[str, int], subscribers: int, db: DatabaseGauges) -> None:
        """Set the gauges read at scrape time."""
        self.pool_checked_out.set(pool.get("checked_out", 0))
        self.pool_size.set(pool.get("size", 0))
        self.subscribers.set(subscribers)
        self.job_runs.clear()
        self.job_last_success.clear()
        for job_id, (runs, success) in db.jobs.items():
            self.job_runs.labels(job_id).set(runs)
            if success is not None:
                self.job_last_success.labels(job_id).set(1 if success else 0)
        self.outbox.clear()
        for status, count in db.outbox.items():
            self.outbox.labels(status).set(count)


def _content_length(handler: web.RequestHandler) -> int:
    headers: Any = getattr(handler, "_headers", {})  # Tornado keeps the answer's headers here
    try:
        return int(headers.get("Content-Length", 0))
    except (TypeError, ValueError):
        return 0
