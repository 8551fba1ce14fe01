"""The fit-by-activity grade matrix (A-D x 1-4) with conversion rates per cell.

Pure: it takes each lead's combined grade and outcome and the model that defines the
grade labels. The rows and columns come from the model's own grade bands, so a model
with three fit bands gives a 3 x 4 matrix rather than a hard-coded 4 x 4.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from leadscore.spec import ScoringModel
from leadscore.web.whatif import Rate


@dataclass(frozen=True, slots=True)
class Cell:
    grade: str
    row: str
    column: str
    count: int
    rate: Rate  # won / (won + lost) over the cell's leads with a known outcome


@dataclass(frozen=True, slots=True)
class GradeMatrix:
    row_score: str
    column_score: str
    rows: list[str]  # best first (A, B, C, D)
    columns: list[str]  # least active first (1, 2, 3, 4), so the best cell is top right
    cells: dict[str, Cell]
    ungraded: int  # leads without a combined grade (a score below every band)
    total: int

    def cell(self, row: str, column: str) -> Cell:
        return self.cells[row + column]

    @property
    def max_count(self) -> int:
        return max((c.count for c in self.cells.values()), default=0)


def matrix_axes(model: ScoringModel) -> tuple[str, str, list[str], list[str]] | None:
    """(row score, column score, row labels, column labels), or None without a 2-part grade."""
    parts = model.combined_grade or ()
    if len(parts) != 2:
        return None
    row_score, col_score = parts
    row_grades = model.scores[row_score].grades or {}
    col_grades = model.scores[col_score].grades or {}
    # Grade bands are written best first; activity reads better rising left to right.
    return row_score, col_score, list(row_grades), list(reversed(list(col_grades)))


def grade_matrix(
    model: ScoringModel,
    counts: Mapping[str | None, int],
    decided: Iterable[tuple[str | None, bool]] = (),
) -> GradeMatrix | None:
    """The matrix from lead counts per combined grade and the decided leads' grades.

    ``counts`` maps each combined grade (None: ungraded) to its number of leads;
    ``decided`` yields (grade, won) for every lead with an outcome: True for won,
    False for lost (open leads are not in it). Returns None when the model's
    combined grade is not made of exactly two scores.
    """
    axes = matrix_axes(model)
    if axes is None:
        return None
    row_score, col_score, rows, columns = axes
    won: dict[str, int] = {}
    known: dict[str, int] = {}
    for grade, outcome in decided:
        if grade is not None:
            known[grade] = known.get(grade, 0) + 1
            won[grade] = won.get(grade, 0) + bool(outcome)
    labels = {r + c for r in rows for c in columns}
    cells = {
        r + c: Cell(r + c, r, c, counts.get(r + c, 0), Rate(won.get(r + c, 0), known.get(r + c, 0)))
        for r in rows
        for c in columns
    }
    total = sum(counts.values())
    ungraded = sum(n for g, n in counts.items() if g not in labels)
    return GradeMatrix(row_score, col_score, rows, columns, cells, ungraded, total)
