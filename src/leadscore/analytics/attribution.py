"""First-touch, last-touch and linear attribution of conversions (SPEC M7).

Which offers, emails, campaigns and pages came before the leads that converted? The
answer tells the marketer which actions deserve points. Per converted contact, the
touches are its events with a value in ``touch`` (a campaign, an email id, a url, a
form...) at or before the conversion (a form submitted in the same second as the
conversion often *is* the conversion, so it counts). First touch gives 1 credit to
the earliest, last touch to the latest, linear 1/n to each of n touches. Ties in
time are broken by ``event_id`` so the result does not depend on row order.

The heavy part (joining millions of events to the converted contacts) runs in DuckDB.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from leadscore.analytics import periods as P
from leadscore.analytics._duck import connect, id_join, is_lazy, numeric_ids, register_events
from leadscore.analytics.funnel import ensure
from leadscore.analytics.inputs import EVENTS, STAGES, AnalyticsInputError, naive_utc

NO_TOUCH = "(no touch)"


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def attribution(
    events: pd.DataFrame,
    stages: pd.DataFrame,
    *,
    as_of: pd.Timestamp | str,
    touch: str = "campaign",
    conversion_stage: str = "customer",
    event_types: Sequence[str] | None = None,
    lookback_days: float | None = None,
) -> pd.DataFrame:
    """Credit of conversions to each touch value under three models.

    Args:
        events: ``event_id, contact_id, type, timestamp`` and the ``touch`` column.
        stages: transitions; a contact converts at its first ``conversion_stage``.
        as_of: conversions and events after this instant are ignored.
        touch: the event property credited (campaign, email_id, url, form, type...).
        event_types: only events of these types are touches (e.g. ``email_click``).
        lookback_days: only touches this many days before the conversion count.

    Returns:
        One row per touch value, sorted by linear credit: ``touch, first_touch,
        last_touch, linear, touches, contacts`` plus each credit's share of all
        conversions. Conversions without any touch appear as ``(no touch)``, so each
        credit column sums to the number of conversions.
    """
    as_of_ts = P.utc(as_of)
    if is_lazy(events):
        if touch not in events.schema.names:
            raise AnalyticsInputError("events", f"missing column {touch!r} to attribute by")
    else:
        events = ensure(events, EVENTS, require=[touch], source="events")
    stages = ensure(stages, STAGES)
    conv = stages[(stages["stage"] == conversion_stage) & (stages["timestamp"] <= as_of_ts)]
    conv = (
        conv.groupby("contact_id", sort=False)["timestamp"]
        .min()
        .rename("converted_at")
        .reset_index()
    )
    conv["converted_at"] = naive_utc(conv["converted_at"])
    same = numeric_ids(events) == numeric_ids(conv)
    con = connect()
    try:
        # Only the columns the query reads reach DuckDB, which scans them in place.
        register_events(con, events, ["event_id", "contact_id", "type", "timestamp", touch])
        con.register("conv", conv)
        filters = [f"e.{_quote(touch)} IS NOT NULL", "e.timestamp <= c.converted_at"]
        params: list[object] = []
        if event_types is not None:
            filters.append("CAST(e.type AS VARCHAR) IN (SELECT unnest(?))")
            params.append([str(t) for t in event_types])
        if lookback_days is not None:
            filters.append("e.timestamp >= c.converted_at - to_microseconds(CAST(? AS BIGINT))")
            params.append(int(lookback_days * 86_400_000_000))
        # The join runs once into a temporary table; both answers are read from it.
        con.execute(
            f"""
            CREATE TEMP TABLE t AS
            SELECT e.contact_id, CAST(e.{_quote(touch)} AS VARCHAR) AS touch,
                   e.timestamp, e.event_id
            FROM ev e JOIN conv c ON {id_join("e", "c", same)}
            WHERE {" AND ".join(filters)}
            """,
            params,
        )
        credited = con.execute(
            """
            WITH r AS (
                SELECT touch, contact_id,
                       row_number() OVER (PARTITION BY contact_id ORDER BY timestamp, event_id)
                           AS first_rank,
                       row_number() OVER (PARTITION BY contact_id
                                          ORDER BY timestamp DESC, event_id DESC) AS last_rank,
                       count(*) OVER (PARTITION BY contact_id) AS n
                FROM t
            )
            SELECT touch,
                   CAST(sum(CASE WHEN first_rank = 1 THEN 1 ELSE 0 END) AS DOUBLE) AS first_touch,
                   CAST(sum(CASE WHEN last_rank = 1 THEN 1 ELSE 0 END) AS DOUBLE) AS last_touch,
                   sum(1.0 / n) AS linear,
                   count(*) AS touches,
                   count(DISTINCT contact_id) AS contacts
            FROM r GROUP BY touch
            """
        ).df()
        touched = con.execute("SELECT count(DISTINCT contact_id) FROM t").fetchone()
    finally:
        con.close()
    n_conv = len(conv)
    untouched = n_conv - int(touched[0] if touched else 0)
    if untouched:
        credited = pd.concat(
            [
                credited,
                pd.DataFrame(
                    [
                        {
                            "touch": NO_TOUCH,
                            "first_touch": float(untouched),
                            "last_touch": float(untouched),
                            "linear": float(untouched),
                            "touches": 0,
                            "contacts": untouched,
                        }
                    ]
                ),
            ],
            ignore_index=True,
        )
    credited["touches"] = credited["touches"].astype(int)
    credited["contacts"] = credited["contacts"].astype(int)
    for col in ("first_touch", "last_touch", "linear"):
        credited[col] = credited[col].astype(float)
        credited[f"{col}_share"] = credited[col] / n_conv if n_conv else float("nan")
    credited = credited.sort_values(["linear", "touch"], ascending=[False, True])
    return credited.reset_index(drop=True)
