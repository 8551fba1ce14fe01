"""The scoring-model language as frozen pydantic models.

The YAML a marketer writes (see docs/model-language.md) is validated once into
these immutable objects; every executor (the Python evaluator, the SQL compiler)
reads only these. Discriminated unions use tags containing a dash so they can
never be confused with YAML keys when an error path is mapped back to a line.
"""

from __future__ import annotations

import itertools
import re
from typing import Annotated, Any, Literal

import phonenumbers
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationInfo,
    field_validator,
    model_serializer,
    model_validator,
)

from leadscore.spec.source import Problem

IDENT = r"^[a-z][a-z0-9_]*$"
RULE_ID = r"^[A-Za-z0-9][A-Za-z0-9_\-]*$"

STRING_OPS = ("contains", "starts_with", "ends_with", "regex")
NUMBER_OPS = ("lt", "lte", "gt", "gte")
FLAG_OPS = ("exists", "missing", "is_true", "is_false")
OPERATORS = ("equals", "not_equals", "in", "not_in", *STRING_OPS, *NUMBER_OPS, "between", *FLAG_OPS)

CHECKS: dict[str, tuple[str, ...]] = {
    "free_email": ("email",),
    "disposable_email": ("email",),
    "invalid_email": ("email",),
    "missing_email": ("email",),
    "missing_phone": ("phone",),
    "invalid_phone": ("phone",),
    "not_capitalised": ("first_name", "last_name", "company"),
    "keyboard_walk": ("first_name", "last_name", "company", "email"),
    "missing_company": ("company",),
}

STAGE_OPS = (">=", ">", "<=", "<", "==")

Scalar = bool | int | float | str


class Spec(BaseModel):
    # allow_inf_nan: "nan" or "1e999" in quotes would otherwise become a float.
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


# ---------------------------------------------------------------- operators --


class Test(Spec):
    """One operator applied to a field: ``{starts_with: /pricing}``."""

    op: Literal[OPERATORS]  # type: ignore[valid-type]
    value: Any

    @model_validator(mode="after")
    def _value_fits_operator(self) -> Test:
        op, value = self.op, self.value
        if op in ("equals", "not_equals"):
            _need_scalar(op, value)
        elif op in ("in", "not_in"):
            if not isinstance(value, list | tuple) or not value:
                raise ValueError(f"'{op}' needs a non-empty list of values")
            for item in value:
                _need_scalar(op, item)
            object.__setattr__(self, "value", tuple(value))
        elif op in STRING_OPS:
            if isinstance(value, bool) or not isinstance(value, str | int | float):
                raise ValueError(f"'{op}' needs a text value")
            object.__setattr__(self, "value", str(value))
            if op == "regex":
                _need_linear_regex(str(value))
        elif op in NUMBER_OPS:
            _need_number(op, value)
        elif op == "between":
            if not isinstance(value, list | tuple) or len(value) != 2:
                raise ValueError("'between' needs [low, high]")
            _need_number(op, value[0])
            _need_number(op, value[1])
            if value[0] > value[1]:
                raise ValueError(f"'between' low {value[0]} is above high {value[1]}")
            object.__setattr__(self, "value", (value[0], value[1]))
        elif value is not True:
            raise ValueError(f"'{op}' takes the value true (write the opposite operator instead)")
        return self


def _need_linear_regex(pattern: str) -> None:
    """Refuse a pattern the evaluator's linear-time engine (RE2) cannot run."""
    from leadscore.compile.errors import CompileError
    from leadscore.compile.regex import linear_regex  # lazy: compile imports this module

    try:
        re.compile(pattern)
    except re.error as exc:
        raise ValueError(f"bad regex {pattern!r}: {exc}") from None
    except RecursionError:
        raise ValueError(f"bad regex {pattern[:20]!r}...: nested too deeply") from None
    try:
        linear_regex(pattern)
    except CompileError as exc:
        raise ValueError(exc.detail) from None


def _need_scalar(op: str, value: Any) -> None:
    if not isinstance(value, Scalar):
        raise ValueError(f"'{op}' needs a text, number or true/false value, not {value!r}")


def _need_number(op: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"'{op}' needs a number, not {value!r}")


def _unknown_operator(name: Any) -> ValueError:
    from difflib import get_close_matches

    close = get_close_matches(str(name), OPERATORS, n=1)
    hint = f" (did you mean '{close[0]}'?)" if close else ""
    return ValueError(f"unknown operator '{name}'{hint}; expected one of {', '.join(OPERATORS)}")


def _to_tests(raw: Any) -> Any:
    """``{starts_with: /x, ends_with: .pdf}`` or a plain value (meaning equals)."""
    if isinstance(raw, list | tuple) and all(isinstance(t, Test | dict) for t in raw):
        return raw  # already in the internal form (model_dump output)
    if isinstance(raw, dict):
        if not raw:
            raise ValueError("needs at least one operator")
        tests = []
        for op, value in raw.items():
            if op not in OPERATORS:
                raise _unknown_operator(op)
            tests.append({"op": op, "value": value})
        return tests
    return [{"op": "equals", "value": raw}]


Tests = Annotated[tuple[Test, ...], BeforeValidator(_to_tests)]


def _tests_yaml(tests: tuple[Test, ...]) -> Any:
    if len(tests) == 1 and tests[0].op == "equals":
        return tests[0].value
    return {t.op: list(t.value) if isinstance(t.value, tuple) else t.value for t in tests}


# --------------------------------------------------------------- conditions --


class FieldCondition(Spec):
    """``{field: job_title, regex: "(?i)vp"}``"""

    field: str
    test: Test

    @model_validator(mode="before")
    @classmethod
    def _from_yaml(cls, raw: Any) -> Any:
        if not isinstance(raw, dict) or "test" in raw:
            return raw
        ops = [k for k in raw if k != "field"]
        if not ops:
            raise ValueError(f"field test on '{raw.get('field')}' needs an operator")
        for op in ops:
            if op not in OPERATORS:
                raise _unknown_operator(op)
        if len(ops) > 1:
            raise ValueError(f"one operator per field test, got {', '.join(ops)} (use all: [...])")
        return {"field": raw.get("field"), "test": {"op": ops[0], "value": raw[ops[0]]}}

    @model_serializer
    def _to_yaml(self) -> dict[str, Any]:
        value = self.test.value
        return {
            "field": self.field,
            self.test.op: list(value) if isinstance(value, tuple) else value,
        }


class CheckCondition(Spec):
    """``{check: free_email}``: a built-in data-quality check."""

    check: Literal[tuple(CHECKS)]  # type: ignore[valid-type]
    field: str | None = None
    fields: tuple[str, ...] | None = None

    @model_validator(mode="after")
    def _one_target(self) -> CheckCondition:
        if self.field is not None and self.fields is not None:
            raise ValueError("give either 'field' or 'fields', not both")
        if self.fields is not None and not self.fields:
            raise ValueError("'fields' needs at least one field")
        return self

    @property
    def targets(self) -> tuple[str, ...]:
        if self.field is not None:
            return (self.field,)
        return self.fields or CHECKS[self.check]


class AllCondition(Spec):
    all: tuple[Condition, ...] = Field(min_length=1)


class AnyCondition(Spec):
    any: tuple[Condition, ...] = Field(min_length=1)


class NotCondition(Spec):
    not_: Condition = Field(alias="not")
    model_config = ConfigDict(
        extra="forbid", frozen=True, populate_by_name=True, serialize_by_alias=True
    )


_CONDITION_TAGS = {  # `check` first: a check may name a `field` too
    "check": "check-test",
    "field": "field-test",
    "all": "all-of",
    "any": "any-of",
    "not": "not-of",
}
_CONDITION_CLASSES = {
    FieldCondition: "field-test",
    CheckCondition: "check-test",
    AllCondition: "all-of",
    AnyCondition: "any-of",
    NotCondition: "not-of",
}


def _condition_tag(raw: Any) -> str | None:
    if isinstance(raw, dict):
        for key, tag in _CONDITION_TAGS.items():
            if key in raw:
                return tag
        return None
    return _CONDITION_CLASSES.get(type(raw))  # type: ignore[call-overload]


Condition = Annotated[
    Annotated[FieldCondition, Tag("field-test")]
    | Annotated[CheckCondition, Tag("check-test")]
    | Annotated[AllCondition, Tag("all-of")]
    | Annotated[AnyCondition, Tag("any-of")]
    | Annotated[NotCondition, Tag("not-of")],
    Discriminator(
        _condition_tag,
        custom_error_type="condition",
        custom_error_message="a condition needs one of the keys field, check, all, any or not",
    ),
]

AllCondition.model_rebuild()
AnyCondition.model_rebuild()
NotCondition.model_rebuild()


# -------------------------------------------------------------------- rules --


def _as_tuple(raw: Any) -> Any:
    return (raw,) if isinstance(raw, str) else raw


EventTypes = Annotated[tuple[str, ...], BeforeValidator(_as_tuple), Field(min_length=1)]
Where = dict[str, Tests]


class RuleBase(Spec):
    id: str = Field(pattern=RULE_ID)
    description: str | None = None


class ProfileRule(RuleBase):
    """Points once when the contact's fields meet a condition."""

    when: Condition
    points: float


class EventRule(RuleBase):
    """Points for each matching event, weighted by place and decayed by age."""

    on: EventTypes
    where: Where = Field(default_factory=dict)
    points: float
    place: str | None = None
    within_days: float | None = Field(default=None, gt=0)
    half_life_days: float | None = Field(default=None, gt=0)
    decay_days: float | None = Field(default=None, gt=0)
    max_count: int | None = Field(default=None, ge=1)
    max_points: float | None = Field(default=None, gt=0)
    first_time_only: bool = False

    @model_validator(mode="after")
    def _one_decay(self) -> EventRule:
        if self.half_life_days is not None and self.decay_days is not None:
            raise ValueError("choose one decay: half_life_days or decay_days, not both")
        return self


class Tier(Spec):
    at_least: int = Field(ge=1)
    points: float


class VolumeRule(RuleBase):
    """Points by how many matching events (or active days) fall in a window."""

    on: EventTypes | None = None
    where: Where = Field(default_factory=dict)
    within_days: float = Field(gt=0)
    count: Literal["events", "days"] = "events"
    tiers: tuple[Tier, ...] = Field(min_length=1)

    @field_validator("tiers")
    @classmethod
    def _increasing(cls, tiers: tuple[Tier, ...]) -> tuple[Tier, ...]:
        for before, after in itertools.pairwise(tiers):
            if after.at_least <= before.at_least:
                raise ValueError(
                    f"tiers must have strictly increasing at_least ({before.at_least} then {after.at_least})"
                )
        return tiers


class InactivityRule(RuleBase):
    """Points (usually negative) when nothing matching happened for N days."""

    inactive_days: float = Field(gt=0)
    on: EventTypes | None = None
    where: Where = Field(default_factory=dict)
    points: float


def _rule_tag(raw: Any) -> str | None:
    if isinstance(raw, dict):
        for key, tag in (
            ("tiers", "volume-rule"),
            ("inactive_days", "inactivity-rule"),
            ("when", "profile-rule"),
            ("on", "event-rule"),
        ):
            if key in raw:
                return tag
        return None
    return {
        ProfileRule: "profile-rule",
        EventRule: "event-rule",
        VolumeRule: "volume-rule",
        InactivityRule: "inactivity-rule",
    }.get(type(raw))  # type: ignore[call-overload]


Rule = Annotated[
    Annotated[ProfileRule, Tag("profile-rule")]
    | Annotated[EventRule, Tag("event-rule")]
    | Annotated[VolumeRule, Tag("volume-rule")]
    | Annotated[InactivityRule, Tag("inactivity-rule")],
    Discriminator(
        _rule_tag,
        custom_error_type="rule",
        custom_error_message=(
            "a rule needs one of: when (profile), on (event), tiers (volume) or inactive_days"
        ),
    ),
]


# ------------------------------------------------------------------- scores --


class Score(Spec):
    description: str | None = None
    rules: tuple[Rule, ...] = Field(min_length=1)
    floor: float | None = None
    ceiling: float | None = None
    grades: dict[str, float | None] | None = None

    @field_validator("grades")
    @classmethod
    def _bands_in_order(
        cls, grades: dict[str, float | None] | None
    ) -> dict[str, float | None] | None:
        if grades is None:
            return None
        if not grades:
            raise ValueError("grades needs at least one band")
        items = list(grades.items())
        for i, (label, threshold) in enumerate(items):
            if threshold is None and i != len(items) - 1:
                raise ValueError(f"band '{label}' has no threshold, so it must be the last band")
        thresholds = [(label, t) for label, t in items if t is not None]
        for (l1, t1), (l2, t2) in itertools.pairwise(thresholds):
            if t2 >= t1:
                raise ValueError(
                    f"grade bands out of order: '{l2}' ({t2}) must be below '{l1}' ({t1}); "
                    "list the highest band first"
                )
        return grades

    @model_validator(mode="after")
    def _bounds(self) -> Score:
        if self.floor is not None and self.ceiling is not None and self.floor > self.ceiling:
            raise ValueError(f"floor {self.floor} is above ceiling {self.ceiling}")
        return self


class PlaceTable(Spec):
    """Where an action happened changes what it is worth (pricing vs careers)."""

    field: str = "url"
    default: float = Field(default=1.0, ge=0)
    weights: dict[str, Annotated[float, Field(ge=0)]] = Field(min_length=1)


class Surge(Spec):
    score: str
    days: float = Field(gt=0)
    min_points: float


class StageCondition(Spec):
    """One condition of a lifecycle threshold."""

    key: str  # a score name, "<score>_grade", "grade" or "surging"
    op: str | None = None  # for score thresholds
    number: float | None = None
    labels: tuple[str, ...] | None = None
    flag: bool | None = None


_STAGE_RE = re.compile(r"^\s*(>=|>|<=|<|==)?\s*([+-]?(?:\d+\.?\d*|\.\d+))\s*$")


def _parse_stage(raw: Any) -> Any:
    if not isinstance(raw, dict):
        return raw
    out = []
    for key, value in raw.items():
        if isinstance(value, dict) and "key" in value:
            out.append(value)
        elif key == "surging":
            if not isinstance(value, bool):
                raise ValueError("'surging' takes true or false")
            out.append({"key": key, "flag": value})
        elif key == "grade" or key.endswith("_grade"):
            labels = [value] if isinstance(value, str) else value
            if not isinstance(labels, list) or not labels:
                raise ValueError(f"'{key}' takes a list of grade labels")
            out.append({"key": key, "labels": tuple(str(v) for v in labels)})
        else:
            if isinstance(value, bool):
                raise ValueError(f"'{key}' needs a threshold such as \">= 40\"")
            text = str(value)
            match = _STAGE_RE.match(text)
            if not match:
                raise ValueError(
                    f"'{key}: {text}' is not a threshold; write e.g. \">= 40\" (ops: {', '.join(STAGE_OPS)})"
                )
            out.append({"key": key, "op": match.group(1) or ">=", "number": float(match.group(2))})
    return out


StageConditions = Annotated[tuple[StageCondition, ...], BeforeValidator(_parse_stage)]


class Settings(Spec):
    default_region: str = "US"
    free_email_domains: tuple[str, ...] = ()
    disposable_email_domains: tuple[str, ...] = ()

    @field_validator("default_region")
    @classmethod
    def _known_region(cls, region: str) -> str:
        if region.upper() not in phonenumbers.SUPPORTED_REGIONS:
            raise ValueError(
                f"unknown phone region '{region}' (use ISO codes such as US, GB, DE, CN)"
            )
        return region.upper()

    @field_validator("free_email_domains", "disposable_email_domains")
    @classmethod
    def _lower(cls, domains: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(d.strip().lower().lstrip("@") for d in domains)


class FieldMappingSection(Spec):
    """``mapping:``: which columns of a team's files feed which model fields.

    ``contacts``/``events`` map a source column to a model field (``"First Name":
    first_name``); ``event_types`` maps values of the type column to the model's
    event types; ``preset`` starts from a shipped vendor mapping.
    """

    preset: Literal["hubspot", "salesforce", "marketo", "pardot"] | None = None
    contacts: dict[str, str] = Field(default_factory=dict)
    events: dict[str, str] = Field(default_factory=dict)
    event_types: dict[str, str] = Field(default_factory=dict)


SALES_STAGES = ("opportunity", "customer", "lost")


class Recycle(Spec):
    """Send quiet leads back to nurture: a lead in one of ``from`` stages with no
    event (and no stage change) for ``after_days`` days returns to ``lead``."""

    after_days: float = Field(gt=0)
    from_: tuple[str, ...] | None = Field(default=None, alias="from", min_length=1)
    model_config = ConfigDict(
        extra="forbid", frozen=True, populate_by_name=True, serialize_by_alias=True
    )


class ScoringModel(Spec):
    """A whole scoring model: several scores, grades, surge and lifecycle thresholds."""

    name: str | None = None
    settings: Settings = Field(default_factory=Settings)
    places: dict[Annotated[str, Field(pattern=IDENT)], PlaceTable] = Field(default_factory=dict)
    scores: dict[Annotated[str, Field(pattern=IDENT)], Score] = Field(min_length=1)
    combined_grade: tuple[str, ...] | None = None
    surge: Surge | None = None
    lifecycle: dict[Annotated[str, Field(pattern=IDENT)], StageConditions] = Field(
        default_factory=dict
    )
    # Fields a file may lack (they then read as missing); any other field the
    # model reads must be a column of the data, or scoring stops naming it.
    optional_fields: tuple[str, ...] = ()
    mapping: FieldMappingSection | None = None
    recycle: Recycle | None = None

    @model_validator(mode="after")
    def _references(self, info: ValidationInfo) -> ScoringModel:
        problems = cross_reference_problems(self)
        collect = info.context.get("problems") if isinstance(info.context, dict) else None
        if collect is not None:
            collect.extend(problems)
        elif problems:
            raise ValueError("; ".join(str(p) for p in problems))
        return self

    # --- convenient views used by every executor -----------------------------
    def rules(self) -> list[tuple[str, Rule]]:
        """(score name, rule) pairs in file order."""
        return [(name, rule) for name, score in self.scores.items() for rule in score.rules]


def cross_reference_problems(model: ScoringModel) -> list[Problem]:
    """Problems that need the whole model: duplicate ids, unknown names."""
    problems: list[Problem] = []
    seen: dict[str, tuple[str | int, ...]] = {}
    for score_name, score in model.scores.items():
        for i, rule in enumerate(score.rules):
            path: tuple[str | int, ...] = ("scores", score_name, "rules", i, "id")
            if rule.id in seen:
                first = ".".join(str(p) for p in seen[rule.id][:-1])
                problems.append(Problem(path, f"duplicate rule id '{rule.id}' (also at {first})"))
            else:
                seen[rule.id] = path
            place = getattr(rule, "place", None)
            if place is not None and place not in model.places:
                problems.append(
                    Problem(
                        ("scores", score_name, "rules", i, "place"),
                        f"unknown place table '{place}' (defined: {', '.join(model.places) or 'none'})",
                    )
                )
    for i, name in enumerate(model.combined_grade or ()):
        if name not in model.scores:
            problems.append(Problem(("combined_grade", i), f"unknown score '{name}'"))
        elif model.scores[name].grades is None:
            problems.append(Problem(("combined_grade", i), f"score '{name}' has no grades"))
    if model.surge is not None and model.surge.score not in model.scores:
        problems.append(Problem(("surge", "score"), f"unknown score '{model.surge.score}'"))
    if model.recycle is not None:
        problems.extend(_recycle_problems(model, model.recycle))
    for stage, conditions in model.lifecycle.items():
        if stage == "lead":
            problems.append(
                Problem(("lifecycle", stage), "'lead' is the starting stage; it needs no threshold")
            )
        for cond in conditions:
            path = ("lifecycle", stage, cond.key)
            problems.extend(_stage_condition_problems(model, cond, path))
    return problems


def _recycle_problems(model: ScoringModel, recycle: Recycle) -> list[Problem]:
    if not model.lifecycle:
        return [Problem(("recycle",), "'recycle' needs lifecycle: stages to recycle from")]
    problems = []
    allowed = [*model.lifecycle, "sql"]
    for i, stage in enumerate(recycle.from_ or ()):
        if stage in SALES_STAGES:
            problems.append(
                Problem(
                    ("recycle", "from", i),
                    f"'{stage}' belongs to sales; recycle moves only marketing stages "
                    f"({', '.join(dict.fromkeys(allowed))})",
                )
            )
        elif stage not in allowed:
            problems.append(
                Problem(
                    ("recycle", "from", i),
                    f"unknown stage '{stage}' (stages: {', '.join(dict.fromkeys(allowed))})",
                )
            )
    return problems


def _stage_condition_problems(
    model: ScoringModel, cond: StageCondition, path: tuple[str | int, ...]
) -> list[Problem]:
    if cond.key == "surging":
        return [] if model.surge else [Problem(path, "'surging' needs a surge: section")]
    if cond.key == "grade":
        if not model.combined_grade:
            return [Problem(path, "'grade' needs combined_grade to be set")]
        return []
    if cond.labels is not None:
        score = cond.key.removesuffix("_grade")
        if score not in model.scores:
            return [Problem(path, f"unknown score '{score}'")]
        grades = model.scores[score].grades or {}
        unknown = [label for label in cond.labels if label not in grades]
        if unknown:
            return [Problem(path, f"score '{score}' has no grade {', '.join(unknown)}")]
        return []
    if cond.key not in model.scores:
        return [Problem(path, f"unknown score '{cond.key}' (scores: {', '.join(model.scores)})")]
    return []
