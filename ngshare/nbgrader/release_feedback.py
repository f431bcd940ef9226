"""Old path of :mod:`ngshare.clients.nbgrader.release_feedback`, kept for compatibility."""

import sys

import ngshare.clients.nbgrader.release_feedback

sys.modules[__name__] = ngshare.clients.nbgrader.release_feedback
