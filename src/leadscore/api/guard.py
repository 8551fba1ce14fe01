"""Path and query parameters checked once for every route (an app-wide dependency).

Bodies are checked by their models (:class:`leadscore.clean.CleanInput`); the
parameters of the URL are checked here, so that no route can forget: a NUL
(``%00``) in a contact id is a 500 on PostgreSQL, ``?fresh_days=inf`` overflows a
date, a job id past 32 bits overflows the database's INTEGER column. Each is a 422
naming the parameter, in the service's error shape.
"""

from __future__ import annotations

import math
import types
from typing import Any, Union, get_args, get_origin

from fastapi import Request
from fastapi.exceptions import RequestValidationError

from leadscore.clean import INT_MAX, INT_MIN, shown, text_problem

ID_MIN, ID_MAX = -(2**31), 2**31 - 1


async def clean_params(request: Request) -> None:
    """Refuse parameters no store or report can use (before the route runs)."""
    kinds = _declared_kinds(request.scope.get("route"))
    errors: list[dict[str, Any]] = []
    items = [("path", k, str(v)) for k, v in request.path_params.items()]
    items += [("query", k, v) for k, v in request.query_params.multi_items()]
    for where, name, value in items:
        problem = text_problem(name) or text_problem(value)
        if problem is None:
            # Integers in a path are row ids: INTEGER columns (32 bits on PostgreSQL).
            low, high = (ID_MIN, ID_MAX) if where == "path" else (INT_MIN, INT_MAX)
            problem = _number_problem(value, kinds.get((where, name), set()), low, high)
        if problem is not None:
            errors.append({"type": "value_error", "loc": (where, shown(name)), "msg": problem})
    if errors:
        raise RequestValidationError(errors)


def _number_problem(value: str, kinds: set[type], low: int, high: int) -> str | None:
    if int in kinds and float not in kinds:
        try:
            number = int(value)
        except ValueError:
            return None  # not a number at all: the route's own validation says so
        if not low <= number <= high:
            bits = 32 if high == ID_MAX else 64
            return f"is an integer outside the {bits}-bit range"
    if float in kinds:
        try:
            real = float(value)
        except ValueError:
            return None
        if not math.isfinite(real):
            return "must be a finite number (not NaN or infinity)"
    return None


def _declared_kinds(route: Any) -> dict[tuple[str, str], set[type]]:
    """(where, name) -> the scalar types the route declares for that parameter."""
    dependant = getattr(route, "dependant", None)
    out: dict[tuple[str, str], set[type]] = {}
    stack = [dependant] if dependant is not None else []
    while stack:
        current = stack.pop()
        for where, params in (("path", current.path_params), ("query", current.query_params)):
            for param in params:
                out.setdefault((where, param.alias), set()).update(
                    _scalars(param.field_info.annotation)
                )
        stack.extend(current.dependencies)
    return out


def _scalars(annotation: Any) -> set[type]:
    """``Annotated[float | None, ...]`` -> {float, NoneType}; list[int] -> {int}."""
    origin = get_origin(annotation)
    if origin is None:
        return {annotation} if isinstance(annotation, type) and annotation is not bool else set()
    if origin in (Union, types.UnionType, list, tuple, set, frozenset) or str(origin).endswith(
        "Annotated"
    ):
        found: set[type] = set()
        for arg in get_args(annotation):
            found |= _scalars(arg)
        return found
    return set()
