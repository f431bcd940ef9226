"""Old path of :mod:`ngshare.clients.nbgrader.list`, kept for compatibility."""

import sys

import ngshare.clients.nbgrader.list

sys.modules[__name__] = ngshare.clients.nbgrader.list
