"""Clients of ngshare's API. They run on the users' side, not in the server.

- :mod:`ngshare.clients.api`: a small synchronous API client for scripts;
- :mod:`ngshare.clients.coursectl`: the ``ngshare-course`` command;
- :mod:`ngshare.clients.nbgrader`: our nbgrader exchange plugin.

The server imports none of them. Their old paths (``ngshare.client``,
``ngshare.coursectl``, ``ngshare.nbgrader`` and its modules) still import,
and give the same module and class objects.
"""
