"""Fixtures for tests against a real JupyterHub (marked ``integration``).

- ``hub``: one hub for the module, ngshare running as its managed service.
- ``hub_users``: ``{name: token}`` for root (ngshare admin), kevin (instructor),
  s1, s2, s3 (students), outsider; real hub API tokens.
- ``stock_client_bin``: the ``bin`` folder of a separate venv holding the stock
  nbgrader client ``ngshare_exchange`` (see :mod:`tests.integration.stock_client`).
"""

import pytest

from tests.integration import stock_client
from tests.integration.hub import running_hub

USERS = ["root", "kevin", "s1", "s2", "s3", "outsider", "hubadmin"]


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    with running_hub(tmp_path_factory.mktemp("hub")) as h:
        yield h


@pytest.fixture(scope="module")
def hub_users(hub):
    return {name: hub.create_user(name) for name in USERS}


@pytest.fixture(scope="session")
def stock_client_bin():
    """``bin`` of a venv with nbgrader 0.9 and ngshare_exchange 0.5.3 (built once, then reused)."""
    return stock_client.stock_client_bin()
