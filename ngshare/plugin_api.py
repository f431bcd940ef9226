"""The published Plugin API: everything a feature set may import from ngshare.

A plugin — bundled or third-party, and the notebook exchange itself — imports
from this module only::

    from ngshare.plugin_api import APIHandler, Plugin, ServerContext, authenticated

    class GreetingHandler(APIHandler):
        @authenticated
        async def post(self) -> None:
            body = self.json_body()
            self.write_json({"success": True, "hello": body.get("name", self.identity.name)})

    plugin = Plugin(name="hello", handlers=[(r"greeting", GreetingHandler)])

Every name here is documented, with its signature, in docs/plugins.md
("The Plugin API, name by name"); ``tests/test_docs.py`` fails when one is
missing there, and ``tests/test_plugin_imports.py`` fails when a bundled
feature set imports any other ngshare module. Names not listed here are the
core's internals and may change without notice.
"""

from __future__ import annotations

from ngshare import __version__
from ngshare.accounts import (
    AccountError,
    AccountExists,
    AccountService,
    NewAccount,
    create_account,
)
from ngshare.auth import Identity
from ngshare.context import ServerContext
from ngshare.db import Database, intpk, make_metadata
from ngshare.db.driver_sql import DriverStatement
from ngshare.events import Channel, EventBus
from ngshare.garbage import collect_garbage
from ngshare.models import User, get_or_create_user, get_or_create_users, utcnow
from ngshare.notifications import InvalidRecipient, NotificationError, NotificationService
from ngshare.plugin import Plugin, PluginError
from ngshare.scheduler import Job, Scheduler
from ngshare.singleflight import SingleFlight
from ngshare.storage import BlobStore, StagedBlob
from ngshare.storage_backend import StorageError
from ngshare.tokens import TokenService, issue_token, revoke_token, verify_token
from ngshare.twilio_signature import (
    WebhookRefused,
    is_valid_twilio_signature,
    verified_twilio_form,
)
from ngshare.ui import NavEntry, PageHandler, page
from ngshare.web import ApiError, APIHandler, authenticated, public

#: The names a plugin may import, in the order docs/plugins.md presents them.
__all__ = [
    # declaring a feature set
    "Plugin",
    "PluginError",
    "Job",
    "Channel",
    # handling requests
    "APIHandler",
    "ApiError",
    "authenticated",
    "public",
    "Identity",
    # web pages in the shared layout
    "PageHandler",
    "page",
    "NavEntry",
    # the server's services
    "ServerContext",
    "Database",
    "DriverStatement",
    "BlobStore",
    "StagedBlob",
    "StorageError",
    "EventBus",
    "Scheduler",
    "TokenService",
    "AccountService",
    "AccountError",
    "AccountExists",
    "NewAccount",
    "create_account",
    "issue_token",
    "verify_token",
    "revoke_token",
    "collect_garbage",
    "SingleFlight",
    "NotificationService",
    "NotificationError",
    "InvalidRecipient",
    "is_valid_twilio_signature",
    "verified_twilio_form",
    "WebhookRefused",
    # models and tables
    "make_metadata",
    "intpk",
    "User",
    "get_or_create_user",
    "get_or_create_users",
    "utcnow",
    "__version__",
]
