"""Random models, contacts and events for the parity tests, and the comparison.

Imported by the parity tests of every engine (DuckDB, PostgreSQL, Spark): the
online evaluator is the reference, and each engine must give the same rows and
the same contributions (points to 1e-9).

Points, thresholds and bounds are multiples of 0.25 so that sums are exact in
any order and a grade boundary can never be decided by summation order.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pyarrow as pa
from hypothesis import strategies as st

from leadscore.rules import Contact, Event, Scorer
from leadscore.spec import model_from_dict
from leadscore.spec.model import ScoringModel
from leadscore.spec.output import contribution_record

AS_OF = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
TYPES = ["page_view", "email_click", "form_submit", "webinar"]

# Values chosen to hit the interesting cases: padding, case, numbers in text,
# flag words, blanks, LIKE metacharacters and a couple of non-ASCII letters; then
# UNICODE (spec/semantics.py): other scripts' digits (not numbers, and not regex
# \d, anywhere), full-width and right-to-left text, odd whitespace that trims (no
# NUL: no engine stores it), -0.0 and huge and tiny numbers that a double holds.
UNICODE = [
    "１２",
    "٣٣",
    "1２",
    "ＶＰ Ｓａｌｅｓ",
    "مدير المبيعات",
    "\u200fabc",
    "\u3000director\u2003",
    "\x0b10\x1f",
    "\xa0yes\u2029",
    "a\u2003b",
    "-0.0",
    "1e300",
    "-1.5E-300",
    "5e-324",
]
WORDS = [
    "/pricing",
    "/Pricing/enterprise",
    " /demo ",
    "/blog/x_y",
    "/careers%",
    "",
    "   ",
    "VP Sales",
    "director",
    "Head of IT",
    "10",
    "1.5",
    "-3",
    "+2e1",
    "yes",
    "No",
    "true",
    "0",
    "1.0",
    "abc",
    "Zoë",
    "ÉCOLE",
    "asdf",
    "john",
    *UNICODE,
]
NEEDLES = ["/pri", "pricing", "o", "x_y", "%", "", "VP", "10", "ë", "é", "/"]
REGEXES = [
    r"(?i)\b(vp|director|head)\b",
    r"^/pri",
    r"[0-9]+",
    r"a|b",
    r"(?i)^dir(ector)?$",
    r"\d{2,}",
    r"[^a-z/ ]",
    r"^\s*-?\d+(\.\d+)?$",
    r"(?:blog|demo)/?",
    r"x_y.",
    # Patterns that backtrack exponentially in Python's re: every engine (RE2 online)
    # must still agree on them.
    r"(a|aa)+$",
    r"(?i)^([a-z]+\s?)+$",
    r"(x+x+)+y",
]
GLOBS = ["/pricing*", "*demo*", "/blog/*", "*", "/careers%*", "*_y"]

points = st.integers(-200, 200).map(lambda n: n / 4)
pos = st.integers(1, 400).map(lambda n: n / 4)
words = st.sampled_from(WORDS)
scalar = st.one_of(words, st.integers(-5, 12), st.sampled_from([1.5, 0.0, -3.0]), st.booleans())


def test_value(op: str) -> st.SearchStrategy[Any]:
    if op in ("equals", "not_equals"):
        return scalar
    if op in ("in", "not_in"):
        return st.lists(scalar, min_size=1, max_size=3)
    if op in ("contains", "starts_with", "ends_with"):
        return st.sampled_from(NEEDLES)
    if op == "regex":
        return st.sampled_from(REGEXES)
    if op in ("lt", "lte", "gt", "gte"):
        return st.integers(-4, 12).map(lambda n: n / 2)
    if op == "between":
        return st.tuples(st.integers(-4, 6), st.integers(0, 6)).map(
            lambda t: [t[0] / 2, (t[0] + t[1]) / 2]
        )
    return st.just(True)


OPS = [
    "equals",
    "not_equals",
    "in",
    "not_in",
    "contains",
    "starts_with",
    "ends_with",
    "regex",
    "lt",
    "lte",
    "gt",
    "gte",
    "between",
    "exists",
    "missing",
    "is_true",
    "is_false",
]
CONTACT_FIELDS = ["f_text", "f_int", "f_float", "f_bool", "email", "phone", "first_name", "absent"]
CHECKS = [
    "free_email",
    "disposable_email",
    "invalid_email",
    "missing_email",
    "missing_phone",
    "invalid_phone",
    "not_capitalised",
    "keyboard_walk",
    "missing_company",
]


@st.composite
def field_test(draw: st.DrawFn, fields: list[str]) -> dict[str, Any]:
    op = draw(st.sampled_from(OPS))
    return {"field": draw(st.sampled_from(fields)), op: draw(test_value(op))}


@st.composite
def condition(draw: st.DrawFn, depth: int = 0) -> dict[str, Any]:
    kind = draw(
        st.sampled_from(
            ["field", "field", "check", "all", "any", "not"] if depth < 2 else ["field", "check"]
        )
    )
    if kind == "field":
        return draw(field_test(CONTACT_FIELDS))
    if kind == "check":
        check = draw(st.sampled_from(CHECKS))
        out: dict[str, Any] = {"check": check}
        if draw(st.booleans()):
            out["fields"] = draw(
                st.lists(
                    st.sampled_from(["email", "first_name", "f_text", "phone"]),
                    min_size=1,
                    max_size=2,
                    unique=True,
                )
            )
        return out
    if kind == "not":
        return {"not": draw(condition(depth + 1))}
    return {kind: draw(st.lists(condition(depth + 1), min_size=1, max_size=3))}


@st.composite
def where(draw: st.DrawFn) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for prop in draw(
        st.lists(st.sampled_from(["url", "form", "n", "missing_prop"]), max_size=2, unique=True)
    ):
        tests = draw(st.lists(st.sampled_from(OPS), min_size=1, max_size=2, unique=True))
        out[prop] = {op: draw(test_value(op)) for op in tests}
    return out


@st.composite
def event_rule(draw: st.DrawFn) -> dict[str, Any]:
    rule: dict[str, Any] = {
        "on": draw(st.lists(st.sampled_from(TYPES), min_size=1, max_size=2, unique=True)),
        "points": draw(points),
    }
    if draw(st.booleans()):
        rule["where"] = draw(where())
    if draw(st.booleans()):
        rule["place"] = "web"
    if draw(st.booleans()):
        rule["within_days"] = draw(st.sampled_from([1, 7, 30, 30.5, 90]))
    decay = draw(st.sampled_from([None, "half_life_days", "decay_days"]))
    if decay:
        rule[decay] = draw(st.sampled_from([7, 30, 45.5, 120]))
    if draw(st.booleans()):
        rule["max_count"] = draw(st.integers(1, 4))
    if draw(st.booleans()):
        rule["max_points"] = draw(pos)
    if draw(st.integers(0, 3)) == 0:
        rule["first_time_only"] = True
    return rule


@st.composite
def volume_rule(draw: st.DrawFn) -> dict[str, Any]:
    rule: dict[str, Any] = {"within_days": draw(st.sampled_from([1, 7, 30, 200]))}
    if draw(st.booleans()):
        rule["on"] = draw(st.sampled_from(TYPES))
    if draw(st.booleans()):
        rule["where"] = draw(where())
    rule["count"] = draw(st.sampled_from(["events", "days"]))
    at = sorted(draw(st.lists(st.integers(1, 6), min_size=1, max_size=3, unique=True)))
    rule["tiers"] = [{"at_least": a, "points": draw(points | st.just(0.0))} for a in at]
    return rule


@st.composite
def inactivity_rule(draw: st.DrawFn) -> dict[str, Any]:
    rule: dict[str, Any] = {
        "inactive_days": draw(st.sampled_from([1, 7, 30, 30.25])),
        "points": draw(points | st.just(0.0)),
    }
    if draw(st.booleans()):
        rule["on"] = draw(st.lists(st.sampled_from(TYPES), min_size=1, max_size=2, unique=True))
    if draw(st.booleans()):
        rule["where"] = draw(where())
    return rule


@st.composite
def rule(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(
        st.sampled_from(["profile", "profile", "event", "event", "event", "volume", "inactivity"])
    )
    if kind == "profile":
        out = {"when": draw(condition()), "points": draw(points | st.just(0.0))}
    elif kind == "event":
        out = draw(event_rule())
    elif kind == "volume":
        out = draw(volume_rule())
    else:
        out = draw(inactivity_rule())
    if draw(st.booleans()):
        out["description"] = draw(st.sampled_from(["Viewed pricing", "Senior", "Quiet"]))
    return out


@st.composite
def grades(draw: st.DrawFn) -> dict[str, float | None] | None:
    if draw(st.booleans()):
        return None
    thresholds = sorted(
        draw(st.lists(st.integers(-40, 160), min_size=1, max_size=3, unique=True)), reverse=True
    )
    labels = ["A", "B", "C", "D"]
    out: dict[str, float | None] = {labels[i]: t / 2 for i, t in enumerate(thresholds)}
    if draw(st.booleans()):
        out[labels[len(thresholds)]] = None
    return out


@st.composite
def models(draw: st.DrawFn) -> ScoringModel:
    score_names = draw(st.sampled_from([["fit"], ["fit", "engagement"]]))
    rules = draw(st.lists(rule(), min_size=1, max_size=8))
    scores: dict[str, Any] = {name: {"rules": []} for name in score_names}
    for i, r in enumerate(rules):
        r["id"] = f"r{i}-{draw(st.sampled_from(['a', 'B', 'z']))}"
        scores[draw(st.sampled_from(score_names))]["rules"].append(r)
    for name in score_names:
        spec = scores[name]
        if not spec["rules"]:
            spec["rules"].append(
                {
                    "id": f"fallback-{name}",
                    "when": {"field": "f_text", "exists": True},
                    "points": 1.0,
                }
            )
        if draw(st.booleans()):
            low = draw(st.integers(-80, 40)) / 2
            high = low + draw(st.integers(0, 120)) / 2
            spec["floor"] = low if draw(st.booleans()) else None
            spec["ceiling"] = high if draw(st.booleans()) else None
            spec = {k: v for k, v in spec.items() if v is not None}
            scores[name] = spec
        g = draw(grades())
        if g is not None:
            scores[name]["grades"] = g
    data: dict[str, Any] = {
        "settings": {
            "free_email_domains": ["corp-free.com"],
            "default_region": draw(st.sampled_from(["US", "GB"])),
        },
        "places": {
            "web": {
                "field": "url",
                "default": draw(st.sampled_from([1.0, 0.5])),
                "weights": {
                    g: draw(st.sampled_from([0.0, 0.5, 2.0, 3.25]))
                    for g in draw(
                        st.lists(st.sampled_from(GLOBS), min_size=1, max_size=3, unique=True)
                    )
                },
            }
        },
        "scores": scores,
    }
    graded = [n for n in score_names if "grades" in scores[n]]
    if graded and draw(st.booleans()):
        data["combined_grade"] = graded
    if draw(st.booleans()):
        data["surge"] = {
            "score": draw(st.sampled_from(score_names)),
            "days": draw(st.sampled_from([1, 7, 7.5])),
            "min_points": draw(st.integers(-4, 80)) / 4,
        }
    lifecycle: dict[str, Any] = {}
    for stage in draw(st.lists(st.sampled_from(["mql", "sql", "hot"]), max_size=2, unique=True)):
        conds: dict[str, Any] = {}
        name = draw(st.sampled_from(score_names))
        conds[name] = (
            f"{draw(st.sampled_from(['>=', '>', '<=', '<', '==']))} {draw(st.integers(-10, 60)) / 2}"
        )
        if "surge" in data and draw(st.booleans()):
            conds["surging"] = draw(st.booleans())
        if scores[name].get("grades") and draw(st.booleans()):
            conds[f"{name}_grade"] = [next(iter(scores[name]["grades"]))]
        if "combined_grade" in data and draw(st.booleans()):
            conds["grade"] = [
                "".join(next(iter(scores[n]["grades"])) for n in data["combined_grade"])
            ]
        lifecycle[stage] = conds
    if lifecycle:
        data["lifecycle"] = lifecycle
    return model_from_dict(data)


EMAILS = [
    "ann@gmail.com",
    "bob@Corp-Free.com ",
    "x@mailinator.com",
    "not-an-email",
    "j.doe@acme.io",
    "qwerty@acme.io",
    "a@b",
    "",
    None,
]
PHONES = ["+1 650 253 0000", "+44 20 7946 0958", "020 7946 0958", "123", "", None, "(650) 253-0000"]
# Integers a double cannot hold exactly: every engine rounds them as float() does.
HUGE_INTS = [2**62 + 1, -(2**53) - 1]
NAMES = ["John", "john", "Asdf", "Zoë", "  ", None, "ÉMILE", "mary-ann"]


@dataclass
class Dataset:
    contacts: list[Contact]
    events: list[Event]

    def contacts_table(self) -> pa.Table:
        cols = ["f_text", "f_int", "f_float", "f_bool", "email", "phone", "first_name"]
        types = [
            pa.string(),
            pa.int64(),
            pa.float64(),
            pa.bool_(),
            pa.string(),
            pa.string(),
            pa.string(),
        ]
        data: dict[str, pa.Array] = {
            "contact_id": pa.array([c.contact_id for c in self.contacts], pa.string())
        }
        for name, typ in zip(cols, types, strict=True):
            data[name] = pa.array([c.fields.get(name) for c in self.contacts], typ)
        return pa.table(data)

    def events_table(self) -> pa.Table:
        e = self.events
        return pa.table(
            {
                "event_id": pa.array([x.event_id for x in e], pa.string()),
                "contact_id": pa.array([x.contact_id for x in e], pa.string()),
                "type": pa.array([x.type for x in e], pa.string()),
                "timestamp": pa.array([x.timestamp for x in e], pa.timestamp("us", tz="UTC")),
                "url": pa.array([x.properties.get("url") for x in e], pa.string()),
                "form": pa.array([x.properties.get("form") for x in e], pa.string()),
                "n": pa.array([x.properties.get("n") for x in e], pa.int64()),
            }
        )


@st.composite
def datasets(draw: st.DrawFn) -> Dataset:
    n = draw(st.integers(1, 6))
    contacts = []
    for i in range(n):
        fields = {
            "f_text": draw(st.one_of(words, st.none())),
            "f_int": draw(st.one_of(st.integers(-3, 12), st.sampled_from(HUGE_INTS), st.none())),
            "f_float": draw(
                st.one_of(
                    st.sampled_from(
                        [0.0, -0.0, 1.0, 1.5, -2.25, 10.0, 0.1, 12345.678, float("nan")]
                    ),
                    st.none(),
                )
            ),
            "f_bool": draw(st.one_of(st.booleans(), st.none())),
            "email": draw(st.sampled_from(EMAILS)),
            "phone": draw(st.sampled_from(PHONES)),
            "first_name": draw(st.sampled_from(NAMES)),
        }
        contacts.append(Contact(f"c{i}", fields))
    events = []
    # A few shared instants make timestamp ties (broken by event_id) common.
    instants = draw(st.lists(st.integers(-86_400, 200 * 86_400), min_size=1, max_size=4))
    for k in range(draw(st.integers(0, 25))):
        if draw(st.booleans()):
            offset: float = draw(st.sampled_from(instants))
        else:
            offset = (
                draw(st.sampled_from([0, 86_400, 7 * 86_400, 30 * 86_400]))
                if draw(st.booleans())
                else draw(st.integers(-86_400, 200 * 86_400))
            )
        micros = draw(st.sampled_from([0, 0, 1, 500_000, 999_999]))
        ts = AS_OF - timedelta(seconds=offset, microseconds=micros)
        props = {
            "url": draw(st.one_of(st.sampled_from(WORDS), st.none())),
            "form": draw(st.one_of(st.sampled_from(["demo", "Demo ", "trial", ""]), st.none())),
            "n": draw(st.one_of(st.integers(0, 12), st.sampled_from(HUGE_INTS), st.none())),
        }
        events.append(
            Event(
                event_id=f"e{draw(st.integers(0, 30))}-{k}",
                contact_id=f"c{draw(st.integers(0, n - 1))}",
                type=draw(st.sampled_from(TYPES)),
                timestamp=ts,
                properties=props,
            )
        )
    return Dataset(contacts, events)


def reference(
    model: ScoringModel, data: Dataset
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The online evaluator's rows and contributions, by contact id order."""
    scorer = Scorer(model)
    by_contact: dict[str, list[Event]] = {}
    for e in data.events:
        by_contact.setdefault(e.contact_id, []).append(e)
    rows, contributions = [], []
    for c in sorted(data.contacts, key=lambda c: c.contact_id):
        result = scorer.score(c, by_contact.get(c.contact_id, ()), AS_OF)
        rows.append(result.to_row())
        contributions.extend(
            contribution_record(
                c.contact_id, x.score, x.rule_id, x.description, x.points, x.evidence
            )
            for x in result.contributions
        )
    return rows, contributions


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        if a is None or b is None or isinstance(a, bool) or isinstance(b, bool):
            return False
        if math.isnan(a) and math.isnan(b):
            return True
        return abs(a - b) <= 1e-9 and type(a) is type(b)
    return a == b and type(a) is type(b)


def assert_same(
    model: ScoringModel,
    data: Dataset,
    rows: list[dict[str, Any]],
    contributions: list[dict[str, Any]],
) -> None:
    want_rows, want_contrib = reference(model, data)
    rows = sorted(rows, key=lambda r: r["contact_id"])
    assert [r["contact_id"] for r in rows] == [r["contact_id"] for r in want_rows]
    for want, got in zip(want_rows, rows, strict=True):
        assert set(want) == set(got)
        for key in want:
            assert _same(want[key], got[key]), (want["contact_id"], key, want[key], got[key])
    order = {
        c.contact_id: i for i, c in enumerate(sorted(data.contacts, key=lambda c: c.contact_id))
    }
    got_sorted = sorted(
        contributions, key=lambda r: order[r["contact_id"]]
    )  # stable: keeps rule order
    assert len(got_sorted) == len(want_contrib), (want_contrib, got_sorted)
    for want, got in zip(want_contrib, got_sorted, strict=True):
        for key in ("contact_id", "score", "rule_id", "description", "evidence"):
            assert want[key] == got[key], (key, want, got)
        assert abs(want["points"] - got["points"]) <= 1e-9, (want, got)
