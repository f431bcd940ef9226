"""Old path of :mod:`ngshare.clients.coursectl`, kept for compatibility."""

import sys

import ngshare.clients.coursectl

sys.modules[__name__] = ngshare.clients.coursectl
