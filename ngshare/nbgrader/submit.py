"""Old path of :mod:`ngshare.clients.nbgrader.submit`, kept for compatibility."""

import sys

import ngshare.clients.nbgrader.submit

sys.modules[__name__] = ngshare.clients.nbgrader.submit
