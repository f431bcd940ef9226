"""Start ngshare 0.6.0 in development mode with ``user=`` identity honoured.

Run with the Python of the ngshare 0.6 venv (servers.py creates it)::

    .venv-ngshare/bin/python ngshare06_launcher.py --vngshare --port 12121 ...

ngshare 0.6's ``--vngshare`` swaps ``MockAuth`` into the handler's bases, but
``MyRequestHandler`` defines ``get_current_token`` and ``user_for_token``
itself, so the mock never runs and every request would ask a JupyterHub for
the user. Its own test suite fixes that by assigning MockAuth's two methods to
the handler class; we apply the same patch here, then call ngshare's ``main``.
No ngshare code is copied: it is imported from its venv.

``MyApplication`` reads four ``JUPYTERHUB_*`` variables even in development
mode; dummy values are set when missing.
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


def main() -> None:
    here = os.path.dirname(os.path.abspath(__file__))
    # our benchmark modules must not shadow anything ngshare imports
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != here]
    for key, value in DUMMY_ENV.items():
        os.environ.setdefault(key, value)

    from ngshare import ngshare as ng

    ng.MyRequestHandler.get_current_token = ng.MockAuth.get_current_token
    ng.MyRequestHandler.user_for_token = ng.MockAuth.user_for_token
    ng.main(sys.argv[1:])


if __name__ == "__main__":
    main()
