"""Old path of :mod:`ngshare.clients.nbgrader.release_assignment`, kept for compatibility."""

import sys

import ngshare.clients.nbgrader.release_assignment

sys.modules[__name__] = ngshare.clients.nbgrader.release_assignment
