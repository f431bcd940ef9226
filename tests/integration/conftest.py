"""Fixtures for tests against a real JupyterHub (marked ``integration``).

- ``hub``: one hub for the module, ngshare running as its managed service.
- ``hub_users``: ``{name: token}`` for root (ngshare admin), kevin (instructor),
  s1, s2, s3 (students), outsider; real hub API tokens.
"""

import pytest

from tests.integration.hub import running_hub

USERS = ["root", "kevin", "s1", "s2", "s3", "outsider", "hubadmin"]


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    with running_hub(tmp_path_factory.mktemp("hub")) as h:
        yield h


@pytest.fixture(scope="module")
def hub_users(hub):
    return {name: hub.create_user(name) for name in USERS}
