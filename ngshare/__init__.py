"""ngshare: the nbgrader notebook-exchange server for JupyterHub, extensible with plugins."""

__version__ = "1.0.0.dev0"
