"""Old path of :mod:`ngshare.clients.nbgrader.fetch_assignment`, kept for compatibility."""

import sys

import ngshare.clients.nbgrader.fetch_assignment

sys.modules[__name__] = ngshare.clients.nbgrader.fetch_assignment
