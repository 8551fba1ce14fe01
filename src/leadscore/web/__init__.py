"""The dashboard: server-rendered pages over the service (docs/dashboard.md).

Mount it on the service's FastAPI app with :func:`install`; everything it serves
comes from this package, so it works with no network access.
"""

from __future__ import annotations

from typing import Any

from leadscore.web import crm, routes
from leadscore.web.routes import router


def install(app: Any) -> None:
    """Mount the dashboard's pages, the CRM sync page among them (a module of its own
    that uses the pages' helpers, so it is added here rather than by routes)."""
    routes.install(app)
    app.include_router(crm.router)


__all__ = ["install", "router"]
