"""Alembic migrations of the service store (run by `leadscore db upgrade` and on start)."""
