"""The HTTP API (FastAPI). Build it with :func:`leadscore.api.app.create_app`."""
