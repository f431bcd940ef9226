"""Old path of :mod:`ngshare.clients.coursectl`, kept for compatibility."""

import sys

import ngshare.clients.coursectl

if __name__ == "__main__":  # python -m ngshare.coursectl
    sys.exit(ngshare.clients.coursectl.main())
sys.modules[__name__] = ngshare.clients.coursectl
