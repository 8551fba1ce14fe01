"""Each learner recovers the generating process, and the YAML it writes is valid and
scores every lead exactly as the learner does (checked with the rule engine itself)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.metrics import roc_auc_score

from leadscore.learn.encoding import FeatureTableError
from leadscore.learn.lift import LiftPoints, wilson_interval
from leadscore.learn.parity import rule_scores
from leadscore.learn.predictive import SMALL_DATA_CONVERSIONS, PredictiveModel
from leadscore.learn.scorecard import Scorecard
from leadscore.spec import parse_model


def _profile_points(table: pd.DataFrame, feature: str) -> dict[str, float]:
    rows = table[table["feature"] == feature]
    column = "bin" if "bin" in rows.columns else "value"
    return dict(zip(rows[column], rows["points"], strict=True))


def _contacts_for(history, ts) -> pd.DataFrame:
    contacts, _ = history
    fields = [c for c, info in ts.infos.items() if info.kind == "field"]
    rows = contacts.set_index("contact_id").loc[ts.X.index, fields]
    return rows.reset_index()


# ------------------------------------------------------------------ lift points --


def test_lift_points_give_the_tripling_attribute_the_most_points(profile_only) -> None:
    X, y = profile_only
    model = LiftPoints().fit(X, y)
    table = model.table_[model.table_["points"] != 0]
    best = table.sort_values("points", ascending=False).iloc[0]
    assert (best["feature"], best["value"]) == ("industry", "software")
    # country plays no part in the generating process: its points stay small
    country = table[table["feature"] == "country"]["points"].abs()
    assert country.empty or country.max() < best["points"] / 3
    # the free-mail domain halves the odds: it gets negative points
    assert _profile_points(model.table_, "email_domain")["gmail.com"] < 0


def test_lift_points_respect_minimum_support_and_carry_intervals(profile_only) -> None:
    X, y = profile_only
    X = X.copy()
    X.loc[X.index[:10], "industry"] = "aerospace"  # 10 leads: below min_support
    model = LiftPoints(min_support=30).fit(X, y)
    assert "aerospace" not in set(model.table_["value"])
    row = model.table_[model.table_["value"] == "software"].iloc[0]
    assert row["rate_low"] < row["rate"] < row["rate_high"]
    text = model.to_yaml()
    parse_model(text)
    assert "95% CI" in text and "aerospace" not in text


def test_lift_points_ratio_matches_the_articles_example() -> None:
    # overall 1 %, "requested demo" 20 %: 20 x average
    demo = np.r_[np.ones(100), np.zeros(900)]
    y = np.r_[np.ones(20), np.zeros(80), np.zeros(890), np.ones(10)][:1000]
    X = pd.DataFrame({"form": np.where(demo == 1, "demo", "none")})
    model = LiftPoints(points_per_lift=1.0, min_support=30).fit(X, y)
    points = _profile_points(model.table_, "form")
    rate_demo = 20 / 100
    overall = y.mean()
    assert points["demo"] == round(rate_demo / overall - 1)
    log_model = LiftPoints(points_per_lift=10, method="log").fit(X, y)
    assert _profile_points(log_model.table_, "form")["demo"] == round(
        10 * np.log2(rate_demo / overall)
    )


def test_lift_yaml_scores_like_the_learner(history, training_set) -> None:
    train, test = training_set.temporal_split(0.1)
    model = LiftPoints().fit(train.X, train.y, train.infos)
    text = model.to_yaml()
    spec = parse_model(text)
    assert spec.scores["lift"].rules
    engine = rule_scores(
        text,
        _contacts_for(history, test),
        history[1],
        test.snapshot_at.reset_index(drop=True),
        "lift",
    )
    np.testing.assert_allclose(engine, model.decision_function(test.X), atol=1e-9)


def test_wilson_interval_is_sane() -> None:
    low, high = wilson_interval(np.array([0, 5, 50]), np.array([10, 10, 100]))
    assert low[0] == 0 and 0 < high[0] < 0.35
    assert low[1] < 0.5 < high[1]
    assert high[2] - low[2] < high[1] - low[1]


# -------------------------------------------------------------------- scorecard --


def test_scorecard_points_double_the_odds() -> None:
    rng = np.random.default_rng(0)
    n = 20000
    flag = rng.random(n) < 0.5
    # odds ratio exactly 4 between flagged and unflagged: two doublings = 2 x PDO points
    p = np.where(flag, 0.2 / (0.2 + 0.8 / 4) * 0 + (4 * 0.05 / 0.95) / (1 + 4 * 0.05 / 0.95), 0.05)
    y = (rng.random(n) < p).astype(int)
    X = pd.DataFrame({"plan": np.where(flag, "pro", "free")})
    model = Scorecard(points_to_double_odds=20, C=1e4, decimals=1).fit(X, y)
    pts = _profile_points(model.points_table(), "plan")
    assert pts["pro"] - pts["free"] == pytest.approx(40, abs=4)
    # the calibrated probability follows the YAML score
    proba = model.predict_proba(X)[:, 1]
    assert proba[flag].mean() == pytest.approx(y[flag].mean(), abs=0.01)
    assert proba[~flag].mean() == pytest.approx(y[~flag].mean(), abs=0.01)


def test_scorecard_gives_the_tripling_attribute_the_most_points(profile_only) -> None:
    X, y = profile_only
    model = Scorecard().fit(X, y)
    table = model.points_table()
    industry = _profile_points(table, "industry")
    assert max(industry, key=industry.get) == "software"
    assert table.loc[table["points"].idxmax(), "bin"] == "software"
    # ln(3) / ln(2) x 20 = 31.7 points between software and the rest (shrunk a little)
    others = np.mean([v for k, v in industry.items() if k != "software"])
    assert 20 <= industry["software"] - others <= 40


def test_scorecard_yaml_scores_like_the_learner(history, training_set) -> None:
    train, test = training_set.temporal_split(0.1)
    model = Scorecard().fit(train.X, train.y, train.infos)
    text = model.to_yaml()
    spec = parse_model(text)
    kinds = {type(r).__name__ for r in spec.scores["scorecard"].rules}
    assert {"ProfileRule", "VolumeRule", "InactivityRule", "EventRule"} <= kinds
    engine = rule_scores(
        text,
        _contacts_for(history, test),
        history[1],
        test.snapshot_at.reset_index(drop=True),
        "scorecard",
    )
    np.testing.assert_allclose(engine, model.decision_function(test.X), atol=1e-9)
    assert roc_auc_score(test.y, engine) > 0.65
    # the grades in the YAML split the training leads roughly 10/20/30/40 %
    assert list(spec.scores["scorecard"].grades) == ["A", "B", "C", "D"]


def test_scorecard_rewards_a_demo_request(training_set) -> None:
    model = Scorecard().fit(training_set.X, training_set.y, training_set.infos)
    contrib = model.contributions(training_set.X)
    demo_cols = [c for c in contrib.columns if c.startswith("form_submit")]
    did_demo = training_set.X["form_submit_count_90d"] > 0
    gain = (
        contrib.loc[did_demo, demo_cols].sum(axis=1).mean()
        - contrib.loc[~did_demo, demo_cols].sum(axis=1).mean()
    )
    # x4 odds is two doublings: about 40 points at PDO 20
    assert 25 <= gain <= 55


# ------------------------------------------------------------------- predictive --


@pytest.fixture(scope="module")
def predictive(training_set):
    train, test = training_set.temporal_split(0.25)
    return PredictiveModel().fit(train.X, train.y), train, test


def test_predictive_recovers_the_process_and_is_calibrated(predictive) -> None:
    model, _, test = predictive
    assert "industry" in list(model.importance_.index[:8])
    # the demo request's effect is shared by its correlated counts (7/30/90 days, days
    # active, decayed): summed, it is worth about ln 4 = 1.4 log-odds, as generated
    contrib = model.contributions(test.X)
    demo_cols = [c for c in contrib.columns if c.startswith("form_submit")]
    did_demo = (test.X["form_submit_count_90d"] > 0).to_numpy()
    demo_gain = contrib[demo_cols].sum(axis=1)
    assert 0.7 < demo_gain[did_demo].mean() - demo_gain[~did_demo].mean() < 2.5
    software = (test.X["industry"] == "software").to_numpy()
    industry_gain = contrib["industry"][software].mean() - contrib["industry"][~software].mean()
    assert 0.6 < industry_gain < 2.0  # generated: ln 3 = 1.1
    proba = model.predict_proba(test.X)[:, 1]
    assert roc_auc_score(test.y, proba) > 0.7
    # calibrated: predicted and observed conversion agree overall and in the top half
    assert proba.mean() == pytest.approx(test.y.mean(), abs=0.03)
    high = proba >= np.median(proba)
    assert proba[high].mean() == pytest.approx(test.y[high].mean(), abs=0.05)


def test_predictive_factors_add_up_and_explain(predictive) -> None:
    model, _, test = predictive
    sample = test.X.iloc[:50]
    contrib = model.contributions(sample)
    np.testing.assert_allclose(contrib.sum(axis=1), model.decision_function(sample), atol=1e-6)
    factors = model.top_factors(sample, n=3)
    assert len(factors) == 50
    for lead, row in zip(factors, contrib.drop(columns="_base").to_numpy(), strict=True):
        assert len(lead["positive"]) <= 3 and len(lead["negative"]) <= 3
        assert all(f["contribution"] > 0 for f in lead["positive"])
        assert all(f["contribution"] < 0 for f in lead["negative"])
        if lead["positive"]:
            assert lead["positive"][0]["contribution"] == pytest.approx(row.max(), abs=1e-4)
    software = sample["industry"] == "software"
    if software.any():
        i = int(np.flatnonzero(software.to_numpy())[0])
        assert (
            "industry"
            in [f["feature"] for f in factors[i]["positive"]]
            + [f["feature"] for f in factors[i]["negative"]]
            or contrib.iloc[i]["industry"] > 0
        )


def test_learners_follow_sklearn_conventions(profile_only) -> None:
    X, y = profile_only
    for est in (LiftPoints(min_support=50), Scorecard(C=0.1), PredictiveModel(n_estimators=20)):
        params = est.get_params()
        twin = clone(est)
        assert twin.get_params() == params
        assert twin.fit(X, y) is twin
        assert not hasattr(est, "classes_")  # clone left the original unfitted
        assert all(k.endswith("_") for k in vars(twin) if k not in params)


def test_bad_input_is_named(profile_only) -> None:
    X, y = profile_only
    with pytest.raises(FeatureTableError, match="row 3 has 2"):
        PredictiveModel().fit(X.iloc[:10], [0, 1, 2, 0, 1, 0, 1, 0, 1, 0])
    with pytest.raises(FeatureTableError, match="only one class"):
        Scorecard().fit(X.iloc[:50], np.zeros(50))
    model = PredictiveModel(n_estimators=10).fit(X, y)
    with pytest.raises(FeatureTableError, match="industry"):
        model.predict_proba(X.drop(columns="industry"))
    with pytest.raises(FeatureTableError, match="DataFrame"):
        LiftPoints().fit(X.to_numpy(), y)


def test_predictive_blend_weights_are_chosen_on_held_out_rows() -> None:
    rng = np.random.default_rng(3)
    y = (rng.random(4000) < 0.2).astype(int)
    noise = rng.normal(size=4000)
    model = PredictiveModel()
    # the plain boosting ranks much better: it wins, alone or in a mix, on the 0.25 grid
    parts = {
        ("boost", True): noise + 0.2 * y,
        ("boost", False): noise * 0.3 + 2.0 * y,
        ("linear", True): rng.normal(size=4000),
    }
    weights = model._choose_weights(parts, y)
    assert sum(weights.values()) == pytest.approx(1.0)
    assert weights.get(("boost", False), 0) >= 0.5
    assert all(w * 4 == round(w * 4) for w in weights.values())
    # equal candidates: the default (boosting from the linear base) stays
    same = {k: noise + y for k in parts}
    assert model._choose_weights(same, y) == {("boost", True): 1.0}
    # a fixed choice is not blended at all
    assert PredictiveModel(linear_base=False)._choose_weights(parts, y) == {("boost", False): 1.0}


def test_predictive_plain_and_blended_factors_add_up(training_set) -> None:
    train, test = training_set.temporal_split(0.25)
    sample = test.X.iloc[:40]
    for options in ({"linear_base": False}, {"linear_base": "blend", "validation": "random"}):
        model = PredictiveModel(n_estimators=60, **options).fit(train.X, train.y)
        assert sum(model.weights_.values()) == pytest.approx(1.0)
        contrib = model.contributions(sample)
        np.testing.assert_allclose(contrib.sum(axis=1), model.decision_function(sample), atol=1e-6)
        assert roc_auc_score(test.y, model.predict_proba(test.X)[:, 1]) > 0.7


def test_predictive_trees_are_smaller_on_few_conversions(profile_only) -> None:
    X, y = profile_only
    y = np.asarray(y)
    assert y.sum() < SMALL_DATA_CONVERSIONS  # the generated history: a few hundred
    model = PredictiveModel(n_estimators=20, linear_base=False).fit(X, y)
    assert model.num_leaves_ == 7
    assert all(t["num_leaves"] <= 7 for t in model.booster_plain_.dump_model()["tree_info"])
    # an explicit size is kept whatever the data
    assert PredictiveModel(n_estimators=5, num_leaves=15).fit(X, y).num_leaves_ == 15
    # enough conversions (the same rows, each repeated): the default 15 leaves
    many = np.flatnonzero(y == 1)
    reps = int(np.ceil(SMALL_DATA_CONVERSIONS / len(many)))
    big_X = pd.concat([X] * reps, ignore_index=True)
    big_y = np.tile(y, reps)
    assert PredictiveModel(n_estimators=5).fit(big_X, big_y).num_leaves_ == 15


def test_predictive_seed_bag_averages_and_its_factors_add_up(profile_only) -> None:
    X, y = profile_only
    sample = X.iloc[:30]
    bag = PredictiveModel(n_estimators=30, n_seeds=3, validation="random").fit(X, y)
    one = PredictiveModel(n_estimators=30, validation="random").fit(X, y)
    contrib = bag.contributions(sample)
    np.testing.assert_allclose(contrib.sum(axis=1), bag.decision_function(sample), atol=1e-6)
    boosters = [b for b in (bag.booster_, bag.booster_plain_) if b is not None]
    assert boosters and all(len(b.members) == 3 for b in boosters)
    # differently seeded members: the bag's score is not the single model's
    assert not np.allclose(bag.decision_function(sample), one.decision_function(sample))
