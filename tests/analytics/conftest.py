"""Small hand-checkable fixtures shared by the analytics tests.

The funnel fixture, as of 2024-04-01 (all times UTC):

    contact  created     source  transitions
    c1       2023-12-01  ads     mql 01-05, sql 01-10, customer 02-01 (value 1000)
    c2       2024-01-15  seo     mql 01-20, lost 02-01
    c3       2024-03-01  ads     mql 03-03
    c4       2024-01-01  seo     mql 03-10, customer 03-20 (value 500; SQL skipped)
    c5       2024-02-10  ads     (nothing)
"""

from __future__ import annotations

import pandas as pd
import pytest

AS_OF = "2024-04-01"


@pytest.fixture
def stages() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "contact_id": ["c1", "c1", "c1", "c2", "c2", "c3", "c4", "c4"],
            "stage": ["mql", "sql", "customer", "mql", "lost", "mql", "mql", "customer"],
            "timestamp": [
                "2024-01-05",
                "2024-01-10",
                "2024-02-01",
                "2024-01-20",
                "2024-02-01",
                "2024-03-03",
                "2024-03-10",
                "2024-03-20",
            ],
            "value": [None, None, 1000, None, None, None, None, 500],
        }
    )


@pytest.fixture
def contacts() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "contact_id": ["c1", "c2", "c3", "c4", "c5"],
            "created_at": ["2023-12-01", "2024-01-15", "2024-03-01", "2024-01-01", "2024-02-10"],
            "source": ["ads", "seo", "ads", "seo", "ads"],
        }
    )


@pytest.fixture
def events() -> pd.DataFrame:
    """Touches of the funnel contacts; c1 converts 02-01, c4 converts 03-20."""
    return pd.DataFrame(
        {
            "event_id": [1, 2, 3, 4, 5, 6, 7, 8, 9],
            "contact_id": ["c1", "c1", "c1", "c2", "c2", "c3", "c4", "c4", "c1"],
            "type": [
                "page_view",
                "email_click",
                "form_submit",
                "page_view",
                "page_view",
                "email_click",
                "page_view",
                "form_submit",
                "page_view",
            ],
            "timestamp": [
                "2024-01-01T10:00:00",
                "2024-01-03T00:00:00",
                "2024-01-20T00:00:00",
                "2024-01-10T00:00:00",
                "2024-03-01T00:00:00",
                "2024-03-02T00:00:00",
                "2024-03-05T00:00:00",
                "2024-03-06T20:00:00",
                "2024-02-15T00:00:00",  # after c1 converted: never credited
            ],
            "campaign": ["a", "b", None, "a", "c", "b", "c", "c", "z"],
            "url": [
                "/pricing",
                "/blog/x",
                None,
                "/careers",
                "/pricing",
                None,
                "/home",
                "/demo",
                "/x",
            ],
        }
    )
