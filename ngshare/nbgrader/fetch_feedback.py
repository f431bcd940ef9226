"""Old path of :mod:`ngshare.clients.nbgrader.fetch_feedback`, kept for compatibility."""

import sys

import ngshare.clients.nbgrader.fetch_feedback

sys.modules[__name__] = ngshare.clients.nbgrader.fetch_feedback
