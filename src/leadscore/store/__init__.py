"""Persistence of the service: tables, migrations and transactions."""

from __future__ import annotations

from leadscore.store.db import Store, now_us
from leadscore.store.tables import metadata

__all__ = ["Store", "metadata", "now_us"]
