"""Old path of :mod:`ngshare.clients.nbgrader.cache`, kept for compatibility."""

import sys

import ngshare.clients.nbgrader.cache

sys.modules[__name__] = ngshare.clients.nbgrader.cache
