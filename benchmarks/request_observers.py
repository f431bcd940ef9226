"""CPU per answered request of the access log and the Prometheus metrics (``app.request_done``).

Both run on the IOLoop after every answer, so their cost is paid by every
request. Measured in-process on a real Tornado handler and request, the log
written to /dev/null (as to a file or a pipe: one write per line)::

    .venv/bin/python -m benchmarks.request_observers [--requests N]
"""

from __future__ import annotations

import argparse
import logging
import logging.config
import os
import time

from tornado import httputil, web

from ngshare.access_log import log_request
from ngshare.logs import DATE_FORMAT, TEXT_FORMAT, logging_config
from ngshare.metrics import ServerMetrics

ROUTE = r"/api/assignment/(?P<course_id>[^/]+)/(?P<assignment_id>[^/]+)"


class _Handler(web.RequestHandler):
    def get(self, course_id: str, assignment_id: str) -> None:
        pass


class _Connection:
    """What a handler asks of its HTTP connection before it answers (nothing is sent here)."""

    context = None

    def set_close_callback(self, callback: object) -> None:
        pass


def _handler() -> web.RequestHandler:
    request = httputil.HTTPServerRequest(
        connection=_Connection(),  # type: ignore[arg-type]
        start_line=httputil.RequestStartLine("GET", "/api/assignment/c1/a1", "HTTP/1.1"),
        headers=httputil.HTTPHeaders({"Host": "127.0.0.1"}),
    )
    handler = _Handler(web.Application([(ROUTE, _Handler)]), request)
    handler.set_header("Content-Length", "12345")
    return handler


def per_call_us(fn, n: int) -> float:
    start = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - start) / n * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20000)
    args = parser.parse_args()
    handler = _handler()
    metrics = ServerMetrics()
    metrics.index_routes([(ROUTE, _Handler)], set())
    print(f"load average before: {os.getloadavg()[0]:.2f}")
    with open(os.devnull, "w") as sink:
        for style in ("text", "json"):
            config = logging_config("bench", logging.INFO, style, TEXT_FORMAT, DATE_FORMAT)
            config["handlers"]["console"]["stream"] = sink
            logging.config.dictConfig(config)
            us = per_call_us(lambda: log_request(handler), args.requests)
            print(f"access log ({style}): {us:.1f} us per request")
    us = per_call_us(lambda: metrics.observe(handler), args.requests)
    print(f"metrics: {us:.1f} us per request")
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
