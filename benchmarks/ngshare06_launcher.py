"""Start ngshare 0.6.0 for the benchmark: development mode with ``user=``, or hub mode.

Run with the Python of the ngshare 0.6 venv (servers.py creates it)::

    .venv-ngshare/bin/python ngshare06_launcher.py --vngshare --port 12121 ...
    .venv-ngshare/bin/python ngshare06_launcher.py --hub ...   # JUPYTERHUB_* set by the caller

``--vngshare``: ngshare 0.6 swaps ``MockAuth`` into the handler's bases, but
``MyRequestHandler`` defines ``get_current_token`` and ``user_for_token``
itself, so the mock never runs and every request would ask a JupyterHub for
the user. Its own test suite fixes that by assigning MockAuth's two methods to
the handler class; we apply the same patch here, then call ngshare's ``main``.
``MyApplication`` reads four ``JUPYTERHUB_*`` variables even in development
mode; dummy values are set when missing.

``--hub`` (our flag, not ngshare's): ngshare's normal service mode, unpatched
identity (``GET $JUPYTERHUB_API_URL/user`` per request, as it ships). The one
change: its service mode listens on ``0.0.0.0`` (port from
``$JUPYTERHUB_SERVICE_URL``); the benchmark binds loopback only, so the
address passed to ``HTTPServer.listen`` is replaced by ``127.0.0.1``.

No ngshare code is copied: it is imported from its venv.
"""

from __future__ import annotations

import os
import sys

DUMMY_ENV = {
    "JUPYTERHUB_API_URL": "http://127.0.0.1:9/hub/api",
    "JUPYTERHUB_API_TOKEN": "benchmark-dummy",
    "JUPYTERHUB_CLIENT_ID": "service-ngshare-benchmark",
    "JUPYTERHUB_SERVICE_PREFIX": "/api/",
}
HUB_ENV = (
    "JUPYTERHUB_API_URL",
    "JUPYTERHUB_API_TOKEN",
    "JUPYTERHUB_CLIENT_ID",
    "JUPYTERHUB_SERVICE_PREFIX",
    "JUPYTERHUB_SERVICE_URL",
)


def main() -> None:
    here = os.path.dirname(os.path.abspath(__file__))
    # our benchmark modules must not shadow anything ngshare imports
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != here]
    argv = sys.argv[1:]
    hub = "--hub" in argv
    if hub:
        argv = [a for a in argv if a != "--hub"]
        missing = [k for k in HUB_ENV if not os.environ.get(k)]
        if missing:
            raise SystemExit(f"--hub needs {', '.join(missing)}")
    else:  # before the import: jupyterhub reads some of them at import time
        for key, value in DUMMY_ENV.items():
            os.environ.setdefault(key, value)

    from ngshare import ngshare as ng

    if hub:

        class LoopbackHTTPServer(ng.HTTPServer):
            def listen(self, port, address="", **kwargs):
                super().listen(port, "127.0.0.1", **kwargs)

        ng.HTTPServer = LoopbackHTTPServer
    else:
        ng.MyRequestHandler.get_current_token = ng.MockAuth.get_current_token
        ng.MyRequestHandler.user_for_token = ng.MockAuth.user_for_token
    ng.main(argv)


if __name__ == "__main__":
    main()
