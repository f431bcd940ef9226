"""``ngshare import ngshare06``: move an ngshare 0.6 installation into this server.

The steps, one module each:

- :mod:`.reader` reads the old database (any of its alembic revisions), read-only;
- :mod:`.source_files` reads the old storage folder's files, listing those missing;
- :mod:`.plan` compares one old course with what the target already holds;
- :mod:`.writer` writes what is new, in one transaction per course;
- :mod:`.progress` draws a bar per phase on a terminal;
- :mod:`.report` counts per course and lists the problems;
- :mod:`.run` ties them together; :mod:`.command` is the traitlets sub-command.
"""
