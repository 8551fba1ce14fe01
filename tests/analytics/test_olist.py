"""Funnel and velocity on the real Olist marketing funnel (8,000 MQLs, 842 won deals).

MQL = first_contact_date, won = won_date of the closed deal with the same mql_id,
origin is the source. The expected totals come from the data set's description
(README in shared/datasets) and from counting the raw CSV rows with pandas here.
"""

from __future__ import annotations

import pandas as pd
import pytest

from leadscore.analytics import funnel_report, lead_velocity
from leadscore.analytics.inputs import CONTACTS, read_milestone, read_table

AS_OF = "2019-01-01"


@pytest.fixture(scope="module")
def olist(datasets_dir):
    d = datasets_dir / "olist_marketing_funnel"
    mql_file = d / "olist_marketing_qualified_leads_dataset.csv"
    won_file = d / "olist_closed_deals_dataset.csv"
    contacts = read_table(
        mql_file,
        CONTACTS,
        require=["origin"],
        rename={"mql_id": "contact_id", "first_contact_date": "created_at"},
    )
    stages = pd.concat(
        [
            read_milestone(mql_file, "mql", "first_contact_date", "mql_id"),
            read_milestone(won_file, "customer", "won_date", "mql_id"),
        ],
        ignore_index=True,
    )
    raw_mql = pd.read_csv(mql_file)
    raw_won = pd.read_csv(won_file)
    return contacts, stages, raw_mql, raw_won


@pytest.mark.datasets
def test_monthly_mql_to_won_series(olist):
    contacts, stages, raw_mql, raw_won = olist
    r = funnel_report(stages, contacts, as_of=AS_OF, funnel=["mql", "customer"])
    st = r.stages.set_index("stage")
    assert st.loc["mql", "reached"] == len(raw_mql) == 8000
    won_ids = set(raw_won["mql_id"]) & set(raw_mql["mql_id"])
    assert st.loc["customer", "reached"] == len(won_ids) == 842
    series = r.by_period[r.by_period["from_stage"] == "mql"]
    # Independent count: MQLs per month and how many of them appear among won deals.
    month = pd.to_datetime(raw_mql["first_contact_date"]).dt.strftime("%Y-%m")
    expected_n = month.value_counts().sort_index()
    expected_won = month[raw_mql["mql_id"].isin(won_ids)].value_counts()
    got = series.set_index("period")
    for m, n in expected_n.items():
        assert got.loc[m, "entered"] == n
        assert got.loc[m, "converted"] == expected_won.get(m, 0)
    assert got.loc["2018-01", "rate"] == pytest.approx(
        expected_won["2018-01"] / expected_n["2018-01"]
    )


@pytest.mark.datasets
def test_monthly_velocity_and_breakdown_by_origin(olist):
    contacts, stages, raw_mql, _ = olist
    v = lead_velocity(stages, contacts, as_of=AS_OF, stage="mql", end="2018-05-31")
    month = pd.to_datetime(raw_mql["first_contact_date"]).dt.strftime("%Y-%m")
    counts = month.value_counts()
    row = v.set_index("period").loc["2018-02"]
    assert row["qualified"] == counts["2018-02"] and row["previous"] == counts["2018-01"]
    expected = (counts["2018-02"] - counts["2018-01"]) / counts["2018-01"] * 100
    assert row["lvr_pct"] == pytest.approx(expected)
    by = funnel_report(stages, contacts, as_of=AS_OF, funnel=["mql", "customer"], by="origin")
    mqls = by.stages[by.stages["stage"] == "mql"].set_index("origin")["reached"]
    assert mqls.sum() == 8000
    assert mqls.to_dict() == raw_mql["origin"].fillna("(unknown)").value_counts().to_dict()
