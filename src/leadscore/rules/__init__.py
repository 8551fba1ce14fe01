"""Rules in action: the online evaluator and its explanations."""

from __future__ import annotations

from leadscore.rules.evaluate import (
    Contact,
    Contribution,
    Event,
    LeadScore,
    Scorer,
    ScoreResult,
    decay,
    evaluate,
    grade_of,
)
from leadscore.rules.matchers import compile_condition, compile_place, compile_test, compile_where

__all__ = [
    "Contact",
    "Contribution",
    "Event",
    "LeadScore",
    "ScoreResult",
    "Scorer",
    "compile_condition",
    "compile_place",
    "compile_test",
    "compile_where",
    "decay",
    "evaluate",
    "grade_of",
]
