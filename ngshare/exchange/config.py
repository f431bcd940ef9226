"""Settings of the notebook exchange (``c.Exchange.<name>`` in ngshare_config.py)."""

from __future__ import annotations

from datetime import timedelta

from traitlets import Bool, Float, Integer
from traitlets.config import Configurable


class Exchange(Configurable):
    """Settings of the notebook exchange (``c.Exchange.<name>`` in ngshare_config.py)."""

    retention_days = Float(
        30.0,
        help="""How long deleted courses and assignments (with their submissions)
        stay restorable with `ngshare trash restore` before they are purged.""",
    ).tag(config=True)

    response_cache_bytes = Integer(
        256 * 1024 * 1024,
        help="""Memory for ready-to-send fetch responses of released assignments
        (shared by every student fetching the same release). 0 disables it.""",
    ).tag(config=True)

    small_files_in_lookup = Bool(
        True,
        help="""Read a collect's or feedback download's files kept in the database in
        the transaction that looks them up (one query; binary on PostgreSQL)
        instead of in a second transaction afterwards: three database round
        trips less per download on PostgreSQL. Off: read after the lookup.""",
    ).tag(config=True)

    max_files_per_upload = Integer(
        10_000,
        min=0,
        help="""The most files one release, submission or feedback upload may hold;
        above it the upload is refused with a 413 "Too many files". Checking an
        upload costs time linear in its files; the limit bounds that work and
        the rows one request writes.""",
    ).tag(config=True)

    @property
    def retention(self) -> timedelta:
        return timedelta(days=self.retention_days)
