"""Old path of :mod:`ngshare.clients.nbgrader.exchange`, kept for compatibility."""

import sys

import ngshare.clients.nbgrader.exchange

sys.modules[__name__] = ngshare.clients.nbgrader.exchange
