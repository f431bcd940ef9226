"""Old path of :mod:`ngshare.clients.nbgrader`, kept for compatibility: the same objects.

Its modules (``ngshare.nbgrader.exchange`` ...) are the new ones under their
old names, so class paths such as ``ngshare.nbgrader.exchange.Exchange`` in an
existing ``nbgrader_config.py`` name the very same classes.
"""

from ngshare.clients.nbgrader import *  # noqa: F403
from ngshare.clients.nbgrader import __all__  # noqa: F401
