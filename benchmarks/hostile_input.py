"""What the input limits cost and what hostile input costs now (issue 15).

    PYTHONPATH=src python3 benchmarks/hostile_input.py

* batch validation: ``parse_batch`` on 10,000 events (3 properties each), best of 5;
  run it with ``PYTHONPATH`` on a commit before the checks to compare;
* the online evaluator's regex test: Python's ``re`` against RE2 (``LinearRegex``)
  on 100,000 short values, and both on ``(a+)+$`` against a long run of ``a``;
* hostile model text through ``validate_model``: alias bomb, 200-level nesting,
  10 MB, 200,000 values.
"""

from __future__ import annotations

import contextlib
import json
import re
import time
from collections.abc import Callable
from typing import Any


def best(call: Callable[[], Any], runs: int = 5) -> float:
    out = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        call()
        out = min(out, time.perf_counter() - start)
    return out


def batch() -> None:
    from leadscore.service.events import parse_batch

    events = [
        {
            "event_id": f"e{i}",
            "type": "page_view",
            "timestamp": "2026-01-01T00:00:00Z",
            "contact_id": f"c{i % 100}",
            "properties": {"url": "/pricing", "campaign": "spring", "n": i},
        }
        for i in range(10_000)
    ]
    body = json.dumps({"events": events}).encode()
    print(f"parse_batch, 10,000 events: {best(lambda: parse_batch(body)) * 1000:.0f} ms")


def regex() -> None:
    try:
        from leadscore.compile.regex import linear_regex
    except ImportError:
        return
    pattern = r"(?i)\b(vp|director|head)\b"
    values = ["VP Sales", "/pricing/enterprise", "Head of IT", "john"] * 25_000
    search = re.compile(pattern).search
    found_in = linear_regex(pattern).found_in
    t_re = best(lambda: [search(v) for v in values], 3)
    t_re2 = best(lambda: [found_in(v) for v in values], 3)
    print(f"regex on 100,000 values: re {t_re * 1000:.0f} ms, RE2 {t_re2 * 1000:.0f} ms")
    evil = "a" * 100_000 + "!"
    t = best(lambda: linear_regex(r"(a+)+$").found_in(evil), 3)
    print(f"(a+)+$ on 100,001 characters: RE2 {t * 1000:.2f} ms")
    short = "a" * 22 + "!"
    start = time.perf_counter()
    re.search(r"(a+)+$", short)
    print(f"(a+)+$ on 23 characters: re {time.perf_counter() - start:.2f} s (doubles per 'a')")


def models() -> None:
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "spec"))
    from test_hostile_models import alias_bomb, deep_nesting, huge_model, many_values

    from leadscore.service.models import validate_model

    for name, text in [
        ("alias bomb", alias_bomb()),
        ("200-level nesting", deep_nesting()),
        ("10 MB model", huge_model()),
        ("200,000 values", many_values()),
    ]:

        def run(text: str = text) -> None:
            with contextlib.suppress(Exception):  # TooLarge is the answer for 10 MB
                validate_model(text)

        print(f"validate_model, {name}: {best(run) * 1000:.1f} ms")


if __name__ == "__main__":
    batch()
    regex()
    models()
