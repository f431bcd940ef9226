"""Old path of :mod:`ngshare.clients.nbgrader.collect`, kept for compatibility."""

import sys

import ngshare.clients.nbgrader.collect

sys.modules[__name__] = ngshare.clients.nbgrader.collect
