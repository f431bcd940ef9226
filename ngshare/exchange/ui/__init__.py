"""The exchange's web pages (instructor dashboard, students' own view, trash).

Registered through the Plugin API's ``pages``, ``templates`` and ``nav``.
"""

from pathlib import Path

#: The templates of these pages (``exchange/*.html``), searched before the core's layout.
TEMPLATES = str(Path(__file__).parent / "templates")
#: Their stylesheet, served at ``{prefix}static/exchange/``.
STATIC = str(Path(__file__).parent / "static")
