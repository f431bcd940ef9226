"""Old path of :mod:`ngshare.clients.api`, kept for compatibility."""

import sys

import ngshare.clients.api

sys.modules[__name__] = ngshare.clients.api
