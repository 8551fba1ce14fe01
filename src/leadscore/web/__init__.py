"""The dashboard: server-rendered pages over the service (docs/dashboard.md).

Mount it on the service's FastAPI app with :func:`install`; everything it serves
comes from this package, so it works with no network access.
"""

from __future__ import annotations

from leadscore.web.routes import install, router

__all__ = ["install", "router"]
