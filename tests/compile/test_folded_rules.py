"""first_time_only and max_count rules in the batch plan, pinned by hand-computed cases.

On DuckDB a place-less first_time_only rule is scored from MIN(timestamp) and a
place-less max_count rule from a top-n aggregate inside the one GROUP BY, with its
surge points from a separate recent-days aggregate; PostgreSQL takes the MIN plan
for first_time_only and the ROW_NUMBER plan for max_count. Each case below runs on
both, and every rule's points, every score and surge_points must equal both the
online evaluator (the reference semantics) and the numbers worked out by hand
from docs/model-language.md in the comments. The random parity tests reach
these corners only by luck (and never check surge_points itself).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pyarrow as pa
import pytest

from leadscore.compile import compile_model
from leadscore.engines.base import as_of_micros
from leadscore.engines.duckdb import DuckDBEngine
from leadscore.rules import Contact, Event, Scorer
from leadscore.spec import model_from_dict
from leadscore.spec.model import ScoringModel

AS_OF = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)
US = timedelta(microseconds=1)
TOL = 1e-9

# An event: (type, age) with age in days (a float, negative = after as_of) or a
# timedelta, optionally with a url.
Ev = tuple[str, float | timedelta] | tuple[str, float | timedelta, str | None]


@dataclass
class Case:
    name: str
    model: dict[str, Any]
    events: dict[str, list[Ev]]  # contact id -> its events
    # contact id -> {rule id | score name | "surge_points": value}; None = not listed.
    expected: dict[str, dict[str, float | None]]
    no_events: list[str] = field(default_factory=list)  # contacts without any event

    def contacts(self) -> list[str]:
        return sorted({*self.events, *self.expected, *self.no_events})


def _ts(age: float | timedelta) -> datetime:
    return AS_OF - (age if isinstance(age, timedelta) else timedelta(days=age))


def events_of(case: Case) -> list[Event]:
    out = []
    for cid, evs in sorted(case.events.items()):
        for k, ev in enumerate(evs):
            url = ev[2] if len(ev) > 2 else None  # type: ignore[misc]
            props = {"url": url} if url is not None else {}
            out.append(Event(f"{cid}-{k:03d}", cid, ev[0], _ts(ev[1]), props))
    return out


def model_of(case: Case) -> ScoringModel:
    return model_from_dict(case.model)


# ------------------------------------------------------------------- cases --

FIRST_WINDOW = Case(
    "first_time_only_within_days",
    {
        "scores": {
            "eng": {
                "rules": [
                    {
                        "id": "ft",
                        "on": "page_view",
                        "points": 10,
                        "first_time_only": True,
                        "within_days": 30,
                    },
                ]
            }
        }
    },
    {
        # The first event ever is 40 days old: nothing, though a later one is in the window.
        "a_old_first": [("page_view", 40), ("page_view", 5)],
        "a_edge": [("page_view", 30), ("page_view", 1)],  # age exactly 30: kept
        "a_past_edge": [("page_view", 30 * DAY + US), ("page_view", 1)],  # a microsecond older
        # An event after as_of is invisible, so the first one is the one at as_of itself.
        "a_future": [("page_view", -1 / 24), ("page_view", 0)],
        "a_ties": [("page_view", 3), ("page_view", 3)],
        "a_other_type": [("email_click", 1)],
    },
    {
        "a_old_first": {"ft": None, "eng": 0.0},
        "a_edge": {"ft": 10.0, "eng": 10.0},
        "a_past_edge": {"ft": None},
        "a_future": {"ft": 10.0},
        "a_ties": {"ft": 10.0},
        "a_other_type": {"ft": None, "eng": 0.0},
        "a_nothing": {"ft": None, "eng": 0.0},
    },
    no_events=["a_nothing"],
)

FIRST_DECAY_SURGE = Case(
    "first_time_only_decay_caps_surge",
    {
        "scores": {
            "eng": {
                "rules": [
                    {
                        "id": "ft_hl",
                        "on": "page_view",
                        "points": 20,
                        "first_time_only": True,
                        "half_life_days": 10,
                        "max_points": 12,
                    },
                    {
                        "id": "ft_lin",
                        "on": "email_click",
                        "points": -6,
                        "first_time_only": True,
                        "decay_days": 20,
                        "max_points": 4,
                        "within_days": 60,
                    },
                ]
            },
            # Not the surge score: its points never reach surge_points.
            "fit": {
                "rules": [
                    {"id": "ft_fit", "on": "page_view", "points": 3, "first_time_only": True},
                ]
            },
        },
        "surge": {"score": "eng", "days": 7, "min_points": 5},
    },
    {
        "b_10": [("page_view", 10), ("page_view", 1)],
        "b_0": [("page_view", 0)],
        "b_7": [("page_view", 7)],
        "c_dead": [("email_click", 25), ("email_click", 1)],
        "c_5": [("email_click", 5)],
        "c_15": [("email_click", 15)],
        "c_mixed": [("page_view", 2), ("email_click", 1), ("email_click", 0.5)],
    },
    {
        # One half-life: 20 x 0.5 = 10; older than the 7 surge days, so no surge points.
        "b_10": {"ft_hl": 10.0, "ft_fit": 3.0, "eng": 10.0, "fit": 3.0, "surge_points": 0.0},
        # 20 capped at 12, and the surge share is capped by the same max_points.
        "b_0": {"ft_hl": 12.0, "surge_points": 12.0},
        # 20 x 0.5 ** 0.7 = 12.31 -> 12; age exactly 7 is inside the surge days.
        "b_7": {"ft_hl": 12.0, "surge_points": 12.0},
        # Linear decay reached zero at 20 days: a zero contribution is not listed.
        "c_dead": {"ft_lin": None, "eng": 0.0, "surge_points": 0.0},
        # -6 x (1 - 5/20) = -4.5, capped at -4, in the surge too.
        "c_5": {"ft_lin": -4.0, "surge_points": -4.0},
        "c_15": {"ft_lin": -6 * 0.25, "surge_points": 0.0},
        # 20 x 0.5 ** 0.2 -> 12 and -6 x (1 - 1/20) = -5.7 -> -4, both recent.
        "c_mixed": {"ft_hl": 12.0, "ft_lin": -4.0, "eng": 8.0, "fit": 3.0, "surge_points": 8.0},
    },
)

MAX_COUNT_WINDOW = Case(
    "max_count_within_days_decay",
    {
        "scores": {
            "eng": {
                "rules": [
                    {
                        "id": "top2",
                        "on": "page_view",
                        "points": 8,
                        "max_count": 2,
                        "within_days": 10,
                        "decay_days": 20,
                    },
                ]
            }
        }
    },
    {
        "d_window": [("page_view", 12), ("page_view", 3), ("page_view", 1), ("page_view", 2)],
        "d_outside": [("page_view", 11), ("page_view", 15)],
        "d_edge": [("page_view", 10)],
        "d_ties": [("page_view", 4), ("page_view", 4), ("page_view", 4)],
        "d_future": [("page_view", -1), ("page_view", 6)],
    },
    {
        # The window keeps ages 1, 2, 3; the two most recent: 8 x (0.95 + 0.9).
        "d_window": {"top2": 8 * (0.95 + 0.9)},
        "d_outside": {"top2": None, "eng": 0.0},
        # Fewer events than max_count; age exactly 10 is in the window: 8 x 0.5.
        "d_edge": {"top2": 4.0},
        # Two of three events at one instant: 2 x 8 x 0.8.
        "d_ties": {"top2": 2 * 8 * 0.8},
        # The event after as_of does not take one of the two places.
        "d_future": {"top2": 8 * 0.7},
        "d_nothing": {"top2": None},
    },
    no_events=["d_nothing"],
)

_TOP2S = {"id": "top2s", "on": "page_view", "points": 10, "max_count": 2, "within_days": 10}
_SURGE_EVENTS: dict[str, list[Ev]] = {
    "s_all_recent": [("page_view", 1), ("page_view", 2), ("page_view", 5)],
    "s_one_recent": [("page_view", 1), ("page_view", 5), ("page_view", 6)],
    "s_many_recent": [("page_view", a) for a in (0.5, 1, 2, 2.5)],
    "s_no_recent": [("page_view", 4), ("page_view", 5)],
    "s_edge": [("page_view", 3), ("page_view", 8)],
    "s_window": [("page_view", 12), ("page_view", 1)],
    "s_edge_14": [("page_view", 9), ("page_view", 14)],
}

MAX_COUNT_SURGE_SHORT = Case(
    "max_count_surge_shorter_than_window",
    {
        "scores": {
            "eng": {"rules": [_TOP2S]},
            "fit": {"rules": [{"id": "top2f", "on": "page_view", "points": 1, "max_count": 2}]},
        },
        "surge": {"score": "eng", "days": 3, "min_points": 15},
    },
    _SURGE_EVENTS,
    {
        # Both recent events are among the two kept.
        "s_all_recent": {"top2s": 20.0, "top2f": 2.0, "surge_points": 20.0},
        # Only the age-1 event of the two kept is recent.
        "s_one_recent": {"top2s": 20.0, "surge_points": 10.0},
        # Four recent events but only two are kept: 20, not the 40 of all recent ones.
        "s_many_recent": {"top2s": 20.0, "surge_points": 20.0},
        "s_no_recent": {"top2s": 20.0, "surge_points": 0.0},
        "s_edge": {"top2s": 20.0, "surge_points": 10.0},  # age exactly 3 is recent
        # The age-12 event is outside the rule's window (the fit rule has none).
        "s_window": {"top2s": 10.0, "top2f": 2.0, "surge_points": 10.0},
        "s_edge_14": {"top2s": 10.0, "surge_points": 0.0},
    },
)

MAX_COUNT_SURGE_LONG = Case(
    "max_count_surge_longer_than_window",
    {
        "scores": {"eng": {"rules": [_TOP2S]}},
        "surge": {"score": "eng", "days": 14, "min_points": 15},
    },
    _SURGE_EVENTS,
    {
        # Surge days reach 12 but the rule's window does not: only the age-1 event.
        "s_window": {"top2s": 10.0, "surge_points": 10.0},
        # Three recent events, two kept: the surge share is the rule's whole total.
        "s_one_recent": {"top2s": 20.0, "surge_points": 20.0},
        "s_edge_14": {"top2s": 10.0, "surge_points": 10.0},
        "s_many_recent": {"top2s": 20.0, "surge_points": 20.0},
    },
)

MAX_COUNT_SIGNS = Case(
    "max_count_negative_points_and_caps",
    {
        "scores": {
            "eng": {
                "rules": [
                    {
                        "id": "neg1",
                        "on": "page_view",
                        "points": -4,
                        "max_count": 1,
                        "half_life_days": 2,
                    },
                    {
                        "id": "neg3",
                        "on": "email_click",
                        "points": -5,
                        "max_count": 3,
                        "max_points": 12,
                    },
                    {
                        "id": "pos3",
                        "on": "form_submit",
                        "points": 10,
                        "max_count": 3,
                        "max_points": 25,
                    },
                ]
            }
        },
        "surge": {"score": "eng", "days": 1.5, "min_points": 0},
    },
    {
        "f_neg1": [("page_view", 4), ("page_view", 0.5), ("page_view", 2)],
        "f_neg3": [("email_click", a) for a in (4, 3, 2, 1, 0)],
        "f_pos3": [("form_submit", a) for a in (1, 2, 3, 4)],
        "f_all": [("page_view", 2), ("email_click", 1), ("form_submit", 0)],
    },
    {
        # The most recent event is the most negative one (a MAX heap would pick -1).
        "f_neg1": {"neg1": -4 * 0.5**0.25, "surge_points": -4 * 0.5**0.25},
        # 3 x -5 = -15, capped at -12; in the surge days: ages 0 and 1, -10.
        "f_neg3": {"neg3": -12.0, "surge_points": -10.0},
        # 3 x 10 = 30, capped at 25; in the surge days only age 1.
        "f_pos3": {"pos3": 25.0, "surge_points": 10.0},
        # -4 x 0.5 (one half-life, outside the 1.5 surge days), -5 and 10 inside them.
        "f_all": {"neg1": -2.0, "neg3": -5.0, "pos3": 10.0, "eng": 3.0, "surge_points": 5.0},
    },
)

ZERO_AND_DEAD = Case(
    "zero_points_dead_decay_and_both_limits",
    {
        "scores": {
            "eng": {
                "rules": [
                    {"id": "zero_top", "on": "page_view", "points": 0, "max_count": 2},
                    {"id": "zero_first", "on": "page_view", "points": 0, "first_time_only": True},
                    {
                        "id": "dead_top",
                        "on": "email_click",
                        "points": 5,
                        "max_count": 2,
                        "decay_days": 3,
                    },
                    {
                        "id": "both",
                        "on": "form_submit",
                        "points": 7,
                        "first_time_only": True,
                        "max_count": 1,
                        "within_days": 20,
                    },
                ]
            }
        }
    },
    {
        "g_dead": [("email_click", 4), ("email_click", 5), ("page_view", 1)],
        "g_live": [("email_click", 1), ("email_click", 4), ("email_click", 5)],
        "g_ft_old": [("form_submit", 30), ("form_submit", 1)],
        "g_ft_ok": [("form_submit", 10), ("form_submit", 1)],
    },
    {
        "g_dead": {"zero_top": None, "zero_first": None, "dead_top": None, "eng": 0.0},
        # 5 x (1 - 1/3) plus a fully decayed second event.
        "g_live": {"dead_top": 5 * (1 - 1 / 3)},
        "g_ft_old": {"both": None},
        "g_ft_ok": {"both": 7.0},
    },
)

MAX_COUNT_LARGE = Case(
    "max_count_above_the_heap_limit",
    {
        "scores": {
            "eng": {
                "rules": [
                    {
                        "id": "top64",
                        "on": "page_view",
                        "points": 1,
                        "max_count": 64,
                    },  # the top-n heap
                    {"id": "top65", "on": "page_view", "points": 1, "max_count": 65},  # ROW_NUMBER
                ]
            }
        }
    },
    {"h_70": [("page_view", k / 10) for k in range(70)], "h_3": [("page_view", 1)] * 3},
    {"h_70": {"top64": 64.0, "top65": 65.0}, "h_3": {"top64": 3.0, "top65": 3.0}},
)

PLACED = Case(
    "max_count_and_first_time_only_with_a_place",
    {
        "places": {"web": {"field": "url", "default": 1.0, "weights": {"/pricing*": 2.0}}},
        "scores": {
            "eng": {
                "rules": [
                    {"id": "ptop", "on": "page_view", "points": 5, "max_count": 2, "place": "web"},
                    {
                        "id": "pfirst",
                        "on": "page_view",
                        "points": 3,
                        "first_time_only": True,
                        "place": "web",
                    },
                ]
            }
        },
    },
    {
        # The two most recent are /blog (1.0) and /pricing (2.0), whatever weighs more.
        "p_mixed": [
            ("page_view", 3, "/pricing/x"),
            ("page_view", 2, "/pricing"),
            ("page_view", 1, "/blog"),
        ],
    },
    {"p_mixed": {"ptop": 5 * (2.0 + 1.0), "pfirst": 3 * 2.0}},
)

CASES = [
    FIRST_WINDOW,
    FIRST_DECAY_SURGE,
    MAX_COUNT_WINDOW,
    MAX_COUNT_SURGE_SHORT,
    MAX_COUNT_SURGE_LONG,
    MAX_COUNT_SIGNS,
    ZERO_AND_DEAD,
    MAX_COUNT_LARGE,
    PLACED,
]


# --------------------------------------------------------------- reference --


def online(case: Case) -> dict[str, dict[str, float | None]]:
    """Per contact: every event rule's listed points (None if not), scores, surge_points."""
    model = model_of(case)
    scorer = Scorer(model)
    by_contact: dict[str, list[Event]] = {}
    for e in events_of(case):
        by_contact.setdefault(e.contact_id, []).append(e)
    out: dict[str, dict[str, float | None]] = {}
    for cid in case.contacts():
        result = scorer.score(Contact(cid), by_contact.get(cid, []), AS_OF)
        values: dict[str, float | None] = {rule.id: None for _, rule in model.rules()}
        for c in result.contributions:
            values[c.rule_id] = c.points
        for name, score in result.scores.items():
            values[name] = score.value
        values["surge_points"] = result.surge_points
        out[cid] = values
    return out


def batch_values(result: Any) -> dict[str, dict[str, float | None]]:
    """The same figures from a batch result's table (the wide plan, not the explanation)."""
    compiled = result.compiled
    out: dict[str, dict[str, float | None]] = {}
    for row in result.table.to_pylist():
        values: dict[str, float | None] = {c.rule_id: row[c.column] for c in compiled.rules}
        for name in compiled.scores:
            values[name] = row[name]
        values["surge_points"] = row["surge_points"]
        out[row["contact_id"]] = values
    return out


def assert_case(case: Case, got: Mapping[str, Mapping[str, float | None]]) -> None:
    want = online(case)
    assert sorted(got) == sorted(want)
    for cid, values in want.items():
        for key, value in values.items():
            _close(got[cid][key], value, f"{case.name}: {cid} {key} (online evaluator)")
    # The hand-computed figures pin the reference itself too.
    for cid, values in case.expected.items():
        for key, value in values.items():
            _close(want[cid][key], value, f"{case.name}: {cid} {key} (online vs by hand)")
            _close(got[cid][key], value, f"{case.name}: {cid} {key} (batch vs by hand)")


def _close(got: float | None, want: float | None, what: str) -> None:
    if want is None or got is None:
        assert got is None and want is None, (what, got, want)
        return
    assert abs(got - want) <= TOL, (what, got, want)


def assert_explained(case: Case, result: Any) -> None:
    """The explanation plan (ROW_NUMBER everywhere) lists the same points."""
    want = online(case)
    listed: dict[tuple[str, str], float] = {}
    for row in result.contributions():
        listed[(row["contact_id"], row["rule_id"])] = row["points"]
    rule_ids = [r.id for _, r in model_of(case).rules()]
    for cid, values in want.items():
        for rule_id in rule_ids:
            _close(listed.get((cid, rule_id)), values[rule_id], f"{case.name}: {cid} {rule_id}")


# ------------------------------------------------------------------ tables --


def contacts_table(case: Case) -> pa.Table:
    return pa.table({"contact_id": pa.array(case.contacts(), pa.string())})


def events_table(case: Case) -> pa.Table:
    evs = events_of(case)
    return pa.table(
        {
            "event_id": pa.array([e.event_id for e in evs], pa.string()),
            "contact_id": pa.array([e.contact_id for e in evs], pa.string()),
            "type": pa.array([e.type for e in evs], pa.string()),
            "timestamp": pa.array([e.timestamp for e in evs], pa.timestamp("us", tz="UTC")),
            "url": pa.array([e.properties.get("url") for e in evs], pa.string()),
        }
    )


def run_duckdb(case: Case) -> Any:
    engine = DuckDBEngine()
    engine.con.register("in_contacts", contacts_table(case))
    engine.con.register("in_events", events_table(case))
    return engine.score(model_of(case), "in_contacts", "in_events", AS_OF, explain=True)


@pytest.fixture(scope="module")
def pg_engine(pg_scratch_url: str) -> Iterator[Any]:
    from leadscore.engines.postgres import PostgresEngine

    engine = PostgresEngine(pg_scratch_url)
    try:
        yield engine
    finally:
        engine.close()


def load_pg(con: Any, case: Case) -> tuple[str, str]:
    tag = uuid.uuid4().hex[:8]
    contacts, events = f"fold_c_{tag}", f"fold_e_{tag}"
    con.execute(f"CREATE TABLE {contacts} (contact_id text)")
    con.execute(
        f"CREATE TABLE {events} (event_id text, contact_id text, type text, "
        '"timestamp" timestamptz, url text)'
    )
    with con.cursor() as cur:
        with cur.copy(f"COPY {contacts} FROM STDIN") as copy:
            for cid in case.contacts():
                copy.write_row([cid])
        with cur.copy(f"COPY {events} FROM STDIN") as copy:
            for e in events_of(case):
                copy.write_row(
                    [e.event_id, e.contact_id, e.type, e.timestamp, e.properties.get("url")]
                )
    return contacts, events


# ------------------------------------------------------------------- tests --


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_duckdb_matches_online_and_hand_figures(case: Case) -> None:
    result = run_duckdb(case)
    assert_case(case, batch_values(result))
    assert_explained(case, result)


@pytest.mark.postgres
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_postgres_matches_online_and_hand_figures(pg_engine: Any, case: Case) -> None:
    contacts, events = load_pg(pg_engine.con, case)
    try:
        result = pg_engine.score(model_of(case), contacts, events, AS_OF, explain=True)
        assert_case(case, batch_values(result))
        assert_explained(case, result)
    finally:
        pg_engine.con.execute(f"DROP TABLE {contacts}, {events}")


# -------------------------------------------------------------- plan shape --

EVENT_KINDS = {
    "event_id": "text",
    "contact_id": "text",
    "type": "text",
    "timestamp": "temporal",
    "url": "text",
}


def _sql(rules: list[dict[str, Any]], dialect: str) -> str:
    model = model_from_dict(
        {
            "places": {"web": {"field": "url", "weights": {"/pricing*": 2.0}}},
            "scores": {"eng": {"rules": rules}},
            "surge": {"score": "eng", "days": 7, "min_points": 1},
        }
    )
    compiled = compile_model(
        model,
        dialect,
        contact_kinds={"contact_id": "text"},
        event_kinds=EVENT_KINDS,
        as_of_us=as_of_micros(AS_OF),
    )
    return compiled.sql(pretty=False).upper()


FIRST = {"id": "first", "on": "page_view", "points": 3, "first_time_only": True, "within_days": 9}
TOP = {"id": "top", "on": "page_view", "points": 2, "max_count": 3, "half_life_days": 5}


def test_duckdb_folds_place_less_rules_into_the_group_by() -> None:
    sql = _sql([FIRST, TOP], "duckdb")
    assert "ROW_NUMBER" not in sql
    assert "LIST_SUM" in sql and "FILTER(WHERE" in sql


@pytest.mark.parametrize(
    "rule",
    [
        {**TOP, "place": "web"},
        {**FIRST, "place": "web"},
        {**TOP, "max_count": 65},  # beyond the per-contact heap limit
    ],
    ids=["max_count_place", "first_time_only_place", "max_count_65"],
)
def test_duckdb_keeps_row_numbers_where_it_must(rule: dict[str, Any]) -> None:
    assert "ROW_NUMBER" in _sql([rule], "duckdb")


def test_postgres_folds_first_time_only_but_numbers_max_count() -> None:
    assert "ROW_NUMBER" not in _sql([FIRST], "postgres")
    assert "ROW_NUMBER" in _sql([TOP], "postgres")


# ------------------------------------------------ the surge scan's prefilter --

SURGE_MODEL = {
    "scores": {
        "eng": {
            "rules": [
                {"id": "top", "on": "page_view", "points": 10, "max_count": 5},
                {"id": "all", "on": "page_view", "points": 1},
            ]
        }
    },
    "surge": {"score": "eng", "days": 7, "min_points": 1},
}


@pytest.mark.parametrize("zone", ["UTC", "Asia/Tokyo", "Pacific/Kiritimati", "America/New_York"])
@pytest.mark.parametrize("zoned", [False, True], ids=["naive", "timestamptz"])
def test_printed_query_surge_does_not_depend_on_the_session_zone(zone: str, zoned: bool) -> None:
    """``leadscore compile --as-of`` output run in DuckDB's own session zone.

    The surge scan compares the timestamp column itself with a constant so that
    the reader can skip old rows; a zone-less column is then read in the session's
    zone, while every other part of the query reads it as UTC. Events in the first
    hours of the surge days (ages 7 days less 13 hours, and exactly 7 days) must
    still count in a zone up to 14 hours ahead.
    """
    import duckdb

    model = model_from_dict(SURGE_MODEL)
    ages = [7 * DAY - timedelta(hours=13), 7 * DAY, 7 * DAY + US, 2 * DAY]
    stamps = [AS_OF - a for a in ages]
    events = [Event(f"e{i}", "c1", "page_view", t) for i, t in enumerate(stamps)]
    want = Scorer(model).score(Contact("c1"), events, AS_OF)
    assert want.surge_points == 3 * (10 + 1)  # ages 7d-13h, 7d and 2d: not 7d+1us

    column = stamps if zoned else [t.replace(tzinfo=None) for t in stamps]
    table = pa.table(
        {
            "event_id": [e.event_id for e in events],
            "contact_id": ["c1"] * len(events),
            "type": ["page_view"] * len(events),
            "timestamp": pa.array(column, pa.timestamp("us", tz="UTC" if zoned else None)),
        }
    )
    con = duckdb.connect()
    con.execute(f"SET TimeZone = '{zone}'")
    con.register("contacts", pa.table({"contact_id": ["c1"]}))
    con.register("events", table)
    compiled = compile_model(model, "duckdb", as_of_us=as_of_micros(AS_OF))
    assert "MAKE_TIMESTAMPTZ" in compiled.sql(pretty=False)  # the prefilter is there
    got = con.sql(compiled.sql(pretty=False)).to_arrow_table().to_pylist()[0]
    assert got["surge_points"] == want.surge_points
    assert got["eng"] == want.scores["eng"].value == 4 * (10 + 1)


def test_negative_zero_float_property_is_its_own_key() -> None:
    """DISTINCT and DuckDB's hash treat -0.0 and 0.0 as one value; the rules do not."""
    model = model_from_dict(
        {
            "scores": {
                "eng": {
                    "rules": [
                        {
                            "id": "neg",
                            "on": "page_view",
                            "where": {"n": {"equals": "-0.0"}},
                            "points": 10,
                        },
                    ]
                }
            }
        }
    )
    values = [0.0, -0.0, -0.0]
    events = [
        Event(f"e{i}", "c1", "page_view", AS_OF - (i + 1) * DAY, {"n": v})
        for i, v in enumerate(values)
    ]
    want = Scorer(model).score(Contact("c1"), events, AS_OF).scores["eng"].value
    assert want == 20.0
    engine = DuckDBEngine()
    engine.con.register("in_contacts", pa.table({"contact_id": ["c1"]}))
    engine.con.register(
        "in_events",
        pa.table(
            {
                "event_id": [e.event_id for e in events],
                "contact_id": ["c1"] * 3,
                "type": ["page_view"] * 3,
                "timestamp": pa.array([e.timestamp for e in events], pa.timestamp("us", tz="UTC")),
                "n": pa.array(values, pa.float64()),
            }
        ),
    )
    result = engine.score(model, "in_contacts", "in_events", AS_OF)
    assert result.rows()[0]["eng"] == want
