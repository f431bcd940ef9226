"""A real JupyterHub, with ngshare as a managed service, for integration tests.

:func:`running_hub` writes a jupyterhub_config.py into a temp folder, starts
``jupyterhub`` (which starts configurable-http-proxy and our service), waits
until the service answers through the proxy, and stops everything by PID at
the end — also when a test fails.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.servers import free_port

ROOT = Path(__file__).resolve().parents[2]
#: What the tests build that does not depend on the checkout (configurable-http-proxy,
#: the stock client's venv); .ci/run points it outside the clone so CI runs reuse it.
CACHE = Path(os.environ.get("NGSHARE_TEST_CACHE") or ROOT / ".cache")
LOCAL_CHP = CACHE / "npm" / "node_modules" / ".bin" / "configurable-http-proxy"

CONFIG_TEMPLATE = """
import sys
c = get_config()  # noqa
c.JupyterHub.ip = "127.0.0.1"
c.JupyterHub.port = {proxy_port}
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = {hub_port}
c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:{proxy_api_port}"
c.ConfigurableHTTPProxy.command = [{chp!r}]
c.ConfigurableHTTPProxy.should_start = True
c.JupyterHub.db_url = "sqlite:///{work}/jupyterhub.sqlite"
c.JupyterHub.cookie_secret_file = "{work}/jupyterhub_cookie_secret"
c.JupyterHub.pid_file = "{work}/jupyterhub.pid"
c.JupyterHub.authenticator_class = "dummy"
c.DummyAuthenticator.password = {password!r}
c.Authenticator.allow_all = True
c.Authenticator.admin_users = {{"hubadmin"}}
c.JupyterHub.services = [
    {{
        "name": "ngshare",
        "url": "http://127.0.0.1:{service_port}",
        "command": [sys.executable, "-m", "ngshare", "--admins=root",
                    "--data-dir={work}/ngshare"] + {extra_args!r},
        "oauth_no_confirm": True,
        "environment": {{"NGSHARE_TEST": "1"}},
    }},
    {{"name": "test-driver", "api_token": {driver_token!r}}},
]
c.JupyterHub.load_roles = [
    # browsers sign in to ngshare through OAuth: users need access to the service
    {{"name": "user", "scopes": ["self", "access:services!service=ngshare"]}},
    {{
        "name": "test-driver",
        "scopes": ["admin:users", "tokens", "read:users", "admin:groups"],
        "services": ["test-driver"],
    }},
    {{
        "name": "ngshare-service",
        "scopes": ["read:users", "read:groups"],
        "services": ["ngshare"],
    }},
]
"""


def find_proxy() -> str:
    """configurable-http-proxy: on PATH, or installed from npm into the test cache's npm/."""
    found = shutil.which("configurable-http-proxy")
    if found:
        return found
    if not LOCAL_CHP.exists():
        subprocess.run(
            [
                "npm",
                "install",
                "--no-save",
                "--no-audit",
                "--no-fund",
                "--prefix",
                str(CACHE / "npm"),
                "configurable-http-proxy@5",
            ],
            check=True,
            capture_output=True,
            timeout=300,
        )
    return str(LOCAL_CHP)


@dataclass
class Hub:
    """A running hub: its public URL, the service URL through the proxy, an admin token."""

    url: str
    service_url: str
    driver_token: str
    password: str
    work: Path

    def api(self, method: str, path: str, body: dict | None = None) -> dict | None:
        """Call the hub's REST API as the test driver service."""
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(
            f"{self.url}/hub/api/{path}",
            data=data,
            method=method,
            headers={"Authorization": f"token {self.driver_token}"},
        )
        with urllib.request.urlopen(req, timeout=30) as r:
            text = r.read()
        return json.loads(text) if text else None

    def create_user(self, name: str) -> str:
        """Create a hub user and return a fresh API token of theirs."""
        try:
            self.api("POST", f"users/{name}")
        except urllib.error.HTTPError as e:
            if e.code != 409:  # already exists
                raise
        return self.api("POST", f"users/{name}/tokens", {"note": "integration test"})["token"]


@contextmanager
def running_hub(work: Path, extra_args: list[str] | None = None):
    work.mkdir(parents=True, exist_ok=True)
    ports = {k: free_port() for k in ("proxy_port", "hub_port", "proxy_api_port", "service_port")}
    driver_token = secrets.token_hex(16)
    password = "integration-pw"
    (work / "jupyterhub_config.py").write_text(
        CONFIG_TEMPLATE.format(
            work=work,
            chp=find_proxy(),
            driver_token=driver_token,
            password=password,
            extra_args=extra_args or [],
            **ports,
        )
    )
    log = open(work / "jupyterhub.log", "wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "jupyterhub", "-f", str(work / "jupyterhub_config.py")],
        cwd=work,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group: the proxy and service stop with it
        env={k: v for k, v in os.environ.items() if not k.startswith("JUPYTERHUB_")},
    )
    url = f"http://127.0.0.1:{ports['proxy_port']}"
    hub = Hub(url, url + "/services/ngshare/", driver_token, password, work)
    try:
        _wait_for(hub, proc, work)
        yield hub
    finally:
        _stop(proc)
        log.close()


def _wait_for(hub: Hub, proc: subprocess.Popen, work: Path) -> None:
    deadline = time.monotonic() + 90
    while True:
        try:
            with urllib.request.urlopen(hub.service_url + "healthz", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(
                "hub did not start:\n" + (work / "jupyterhub.log").read_text()[-5000:]
            )
        time.sleep(0.25)


def _stop(proc: subprocess.Popen) -> None:
    """SIGTERM the hub's process group (hub, proxy, service); SIGKILL what is left."""
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        pass
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()
