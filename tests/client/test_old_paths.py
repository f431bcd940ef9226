"""The clients' old import paths still work and give the very same objects.

Before ``ngshare.clients`` the client code was ``ngshare.client``,
``ngshare.coursectl`` and ``ngshare.nbgrader``; scripts import those names and
``nbgrader_config.py`` files name classes such as
``ngshare.nbgrader.exchange.Exchange``, which nbgrader resolves by import path.
"""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

import pytest

from ngshare.clients import api, coursectl

ROOT = Path(__file__).parent.parent.parent

NBGRADER_MODULES = (
    "cache",
    "collect",
    "exchange",
    "fetch_assignment",
    "fetch_feedback",
    "list",
    "release_assignment",
    "release_feedback",
    "submit",
)


def test_old_client_modules_are_the_new_modules():
    import ngshare.client
    import ngshare.coursectl
    from ngshare import client as old_client
    from ngshare import coursectl as old_coursectl

    assert ngshare.client is old_client is api
    assert ngshare.coursectl is old_coursectl is coursectl
    from ngshare.client import ExchangeApiError, ExchangeClient

    assert ExchangeClient is api.ExchangeClient
    assert isinstance(ExchangeClient("http://127.0.0.1:9/api/"), api.ExchangeClient)
    assert ExchangeApiError is api.ExchangeApiError
    from ngshare.coursectl import main

    assert main is coursectl.main


def test_old_nbgrader_paths_name_the_same_classes():
    pytest.importorskip("nbgrader")
    from nbgrader.exchange import ExchangeFactory
    from traitlets.config import Config

    import ngshare.clients.nbgrader as new
    import ngshare.nbgrader as old

    assert sorted(old.__all__) == sorted(new.__all__)
    for name in new.__all__:
        assert getattr(old, name) is getattr(new, name), name
    for module in NBGRADER_MODULES:
        assert importlib.import_module(f"ngshare.nbgrader.{module}") is importlib.import_module(
            f"ngshare.clients.nbgrader.{module}"
        )

    # an nbgrader_config.py written with the old class paths, resolved as nbgrader does
    c = Config()
    for entry, cls in new.PLUGIN_CLASSES.items():
        module = cls.__module__.replace("ngshare.clients.nbgrader.", "ngshare.nbgrader.")
        setattr(c.ExchangeFactory, entry, f"{module}.{cls.__qualname__}")
    assert c.ExchangeFactory.exchange == "ngshare.nbgrader.exchange.Exchange"
    factory = ExchangeFactory(config=c)
    for entry, cls in new.PLUGIN_CLASSES.items():
        assert getattr(factory, entry) is cls, entry
    exchange = factory.exchange(config=c)
    assert isinstance(exchange, old.Exchange) and isinstance(exchange, new.Exchange)

    # configure() through the old path writes the new class paths, same classes
    c = Config()
    old.configure(c, url="http://127.0.0.1:9/api/")
    assert c.ExchangeFactory.submit == "ngshare.clients.nbgrader.submit.ExchangeSubmit"
    assert ExchangeFactory(config=c).submit is old.ExchangeSubmit


def test_old_paths_imported_first_in_a_fresh_interpreter():
    """Nothing imported the new modules before: the old names still load them once."""
    pytest.importorskip("nbgrader")
    code = (
        "import sys\n"
        "from ngshare.nbgrader.exchange import Exchange\n"
        "from ngshare.client import ExchangeClient\n"
        "import ngshare.clients.nbgrader.exchange as e, ngshare.clients.api as a\n"
        "assert Exchange is e.Exchange and ExchangeClient is a.ExchangeClient\n"
        "loaded = [m for m in sys.modules if m.endswith('ngshare.nbgrader.exchange')\n"
        "          or m == 'ngshare.clients.nbgrader.exchange']\n"
        "assert len({id(sys.modules[m]) for m in loaded}) == 1, loaded\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr


def test_python_m_old_coursectl_still_runs_the_command():
    done = subprocess.run(
        [sys.executable, "-m", "ngshare.coursectl", "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("usage: ngshare-course")
