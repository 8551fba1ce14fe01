"""Python regular expressions re-written for each engine's regex flavour.

The model language's ``regex`` operator means Python's ``re.search``. Engines use
other flavours: RE2 (DuckDB, BigQuery), PostgreSQL's ARE (where ``\\b`` is a
backspace and ``\\y`` a word boundary), Java (Spark, whose ``.`` also refuses
``\\r``/``\\u2028`` and whose ``(?i)`` is ASCII-only) and Snowflake's POSIX flavour
(flags as a parameter). Rather than patching the pattern text, we parse it with
Python's own parser and print the tree back in the target flavour; any construct
with no faithful translation (look-arounds, back-references, inline flags other
than a leading ``(?i)``...) raises :class:`CompileError` naming the rule.

Character classes ``\\d``, ``\\w``, ``\\s`` and ``\\b`` are ASCII in RE2 and Java
and, in PostgreSQL, follow the database's locale; on ASCII text (ids, urls, titles
in Latin script) they agree. This is documented in docs/batch.md.

The online evaluator runs the RE2 translation too, with google-re2
(:func:`linear_regex`): RE2 matches in time linear in the text whatever the
pattern, so a model's ``(a+)+$`` cannot hold a worker for minutes on a long
value as Python's backtracking ``re`` would. A pattern RE2 cannot run (a
look-ahead, a back-reference) is refused when the model is validated.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from re import _constants as C  # type: ignore[attr-defined]
from re import _parser as P  # type: ignore[attr-defined]
from typing import Any

import re2

from leadscore.compile.errors import CompileError

# A model's pattern is a short piece of a rule; a long one is a mistake or an attack
# (RE2 also caps the memory of the compiled program, see linear_regex).
MAX_REGEX_CHARS = 1000
ENGINE = "the linear-time regex engine (RE2)"

_META = set(".^$*+?{}[]()|\\/-")


@dataclass(frozen=True)
class Flavour:
    name: str
    word_boundary: str  # \b
    non_boundary: str  # \B
    any_char: str  # Python's "." (anything but "\n")
    ignore_case_prefix: str | None  # None: the flag is passed separately
    classes: bool = True  # supports \d \w \s


FLAVOURS = {
    "re2": Flavour("re2", r"\b", r"\B", ".", "(?i)"),
    "postgres": Flavour("postgres", r"\y", r"\Y", "[^\\n]", "(?i)"),
    "java": Flavour("java", r"\b", r"\B", "[^\\n]", "(?iu)"),
    "snowflake": Flavour("snowflake", r"\b", r"\B", "[^\\n]", None, classes=True),
}

_CATEGORY = {
    C.CATEGORY_DIGIT: r"\d",
    C.CATEGORY_NOT_DIGIT: r"\D",
    C.CATEGORY_SPACE: r"\s",
    C.CATEGORY_NOT_SPACE: r"\S",
    C.CATEGORY_WORD: r"\w",
    C.CATEGORY_NOT_WORD: r"\W",
}


@dataclass(frozen=True)
class Translated:
    pattern: str
    ignore_case: bool


def translate(pattern: str, flavour: str, rule_id: str | None, dialect: str) -> Translated:
    """The pattern in the target flavour, or CompileError when it has no equivalent."""
    printer = _Printer(FLAVOURS[flavour], pattern, rule_id, dialect)
    try:
        parsed = P.parse(pattern)
    except re.error as exc:  # already validated by the spec; kept for direct callers
        raise CompileError(f"bad regex {pattern!r}: {exc}", rule_id, dialect) from None
    except RecursionError:  # Python's parser recurses once per group
        raise CompileError(
            f"bad regex {pattern[:20]!r}...: nested too deeply", rule_id, dialect
        ) from None
    flags = parsed.state.flags
    ignore_case = bool(flags & re.IGNORECASE)
    extra = flags & ~(re.IGNORECASE | re.UNICODE | re.VERBOSE)
    if extra:
        raise printer.fail("inline flags other than (?i)")
    if ignore_case and not pattern.startswith("(?i)"):
        raise printer.fail("(?i) somewhere else than at the very start")
    try:
        body = printer.seq(parsed)
    except RecursionError:
        raise CompileError(
            f"bad regex {pattern[:20]!r}...: nested too deeply", rule_id, dialect
        ) from None
    if ignore_case and printer.fl.ignore_case_prefix is not None:
        body = printer.fl.ignore_case_prefix + body
    return Translated(body, ignore_case)


_UNSUPPORTED = {
    C.GROUPREF: "a back-reference",
    C.GROUPREF_EXISTS: "a conditional group",
    C.ASSERT: "a look-ahead or look-behind",
    C.ASSERT_NOT: "a negative look-ahead or look-behind",
}


@dataclass(frozen=True)
class _Printer:
    """Prints a parsed Python pattern back in one flavour, node by node."""

    fl: Flavour
    pattern: str
    rule_id: str | None
    dialect: str

    def fail(self, what: str) -> CompileError:
        return CompileError(
            f"regex {self.pattern!r} uses {what}, which {self.dialect} cannot run with Python's "
            "meaning; use the portable subset (classes, groups, alternation, \\b, a leading (?i))",
            self.rule_id,
            self.dialect,
        )

    def literal(self, code: int, in_class: bool = False) -> str:
        ch = chr(code)
        if ch.isalnum() and code < 128:
            return ch
        if ch in _META or (in_class and ch in "^]-"):
            return "\\" + ch
        if code < 32 or code == 127 or (ch.isspace() and ch != " ") or not ch.isprintable():
            if self.fl.name == "postgres":
                return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"
            if self.fl.name in ("re2", "java"):
                return f"\\x{{{code:x}}}"
            raise self.fail(f"the invisible character U+{code:04X}")
        return ch

    def klass(self, items: list[tuple[Any, Any]]) -> str:
        out = []
        negate = False
        for op, av in items:
            if op is C.NEGATE:
                negate = True
            elif op is C.LITERAL:
                out.append(self.literal(av, in_class=True))
            elif op is C.RANGE:
                out.append(f"{self.literal(av[0], True)}-{self.literal(av[1], True)}")
            elif op is C.CATEGORY:
                out.append(self.category_in_class(av))
            else:
                raise self.fail(f"the class item {op}")
        return "[" + ("^" if negate else "") + "".join(out) + "]"

    def category_in_class(self, av: Any) -> str:
        if av not in _CATEGORY:
            raise self.fail("a character category")
        if self.fl.name == "postgres" and av in (
            C.CATEGORY_NOT_DIGIT,
            C.CATEGORY_NOT_SPACE,
            C.CATEGORY_NOT_WORD,
        ):
            # PostgreSQL forbids \D \S \W inside brackets.
            raise self.fail("a negated class (\\D, \\S or \\W) inside [...]")
        return _CATEGORY[av]

    def seq(self, items: Any) -> str:
        return "".join(self.node(op, av) for op, av in items)

    def node(self, op: Any, av: Any) -> str:
        if op is C.LITERAL:
            return self.literal(av)
        if op is C.NOT_LITERAL:
            return "[^" + self.literal(av, in_class=True) + "]"
        if op is C.ANY:
            return self.fl.any_char
        if op is C.IN:
            if len(av) == 1 and av[0][0] is C.CATEGORY and av[0][1] in _CATEGORY:
                return _CATEGORY[av[0][1]]
            return self.klass(av)
        if op is C.BRANCH:
            return "|".join(self.seq(branch) for branch in av[1])
        if op is C.SUBPATTERN:
            group, add_flags, del_flags, sub = av
            if add_flags or del_flags:
                raise self.fail("scoped inline flags (?x:...)")
            inner = self.seq(sub)
            return f"({inner})" if group is not None else f"(?:{inner})"
        if op in (C.MAX_REPEAT, C.MIN_REPEAT):
            return self.repeat(op, av)
        if op is C.AT:
            return self.anchor(av)
        raise self.fail(_UNSUPPORTED.get(op, f"the construct {op}"))

    def repeat(self, op: Any, av: Any) -> str:
        low, high, sub = av
        item = self.seq(sub)
        if not (len(sub) == 1 and sub[0][0] in (C.LITERAL, C.ANY, C.IN, C.SUBPATTERN)):
            item = f"(?:{item})"
        if (low, high) == (0, C.MAXREPEAT):
            q = "*"
        elif (low, high) == (1, C.MAXREPEAT):
            q = "+"
        elif (low, high) == (0, 1):
            q = "?"
        elif high == C.MAXREPEAT:
            q = f"{{{low},}}"
        elif low == high:
            q = f"{{{low}}}"
        else:
            q = f"{{{low},{high}}}"
        if high != C.MAXREPEAT and high > 255 and self.fl.name == "postgres":
            raise self.fail("a repeat count above 255")
        if high != C.MAXREPEAT and high > 1000 and self.fl.name == "re2":
            raise self.fail("a repeat count above 1000")
        return item + q + ("?" if op is C.MIN_REPEAT else "")

    def anchor(self, av: Any) -> str:
        if av is C.AT_BEGINNING or av is C.AT_BEGINNING_STRING:
            return "^"
        if av is C.AT_END or av is C.AT_END_STRING:
            # Values are trimmed, so Python's "$ before a final newline" never arises.
            return "$"
        if av is C.AT_BOUNDARY:
            return self.fl.word_boundary
        if av is C.AT_NON_BOUNDARY:
            return self.fl.non_boundary
        raise self.fail(f"the anchor {av}")


class LinearRegex:
    """A compiled RE2 pattern that answers "found anywhere in the text?"."""

    def __init__(self, pattern: str, compiled: Any):
        self.pattern = pattern
        # google-re2's public search() builds a match object and maps byte offsets
        # back to characters (10x the cost of `re`); the boolean needs neither.
        raw = getattr(compiled, "_regexp", None)
        anchor = getattr(getattr(re2, "_Anchor", None), "UNANCHORED", None)
        self._raw, self._anchor, self._compiled = raw, anchor, compiled

    def found_in(self, text: str) -> bool:
        if self._raw is None or self._anchor is None:  # another google-re2 layout
            return self._compiled.search(text) is not None
        data = text.encode("utf-8", "surrogatepass")
        return bool(self._raw.Match(self._anchor, data, 0, len(data))[0][0] != -1)


def linear_regex(pattern: str, rule_id: str | None = None) -> LinearRegex:
    """The pattern compiled with RE2 (linear-time matching) in the model's meaning.

    Raises :class:`CompileError` when the pattern is too long, uses a construct RE2
    cannot run, or compiles to a program over RE2's memory budget.
    """
    if len(pattern) > MAX_REGEX_CHARS:
        raise CompileError(
            f"regex is {len(pattern):,} characters long; the limit is {MAX_REGEX_CHARS:,}",
            rule_id,
            ENGINE,
        )
    translated = translate(pattern, "re2", rule_id, ENGINE)
    options = re2.Options()
    options.log_errors = False  # the error is raised with the rule, not printed
    options.never_capture = True  # only "is there a match" is asked
    options.max_mem = 8 << 20  # RE2's default, stated: a{1000}{1000} is refused, not built
    try:
        compiled = re2.compile(translated.pattern, options)
    except re2.error as exc:
        reason = exc.args[0].decode() if exc.args and isinstance(exc.args[0], bytes) else exc
        raise CompileError(f"bad regex {pattern!r}: {reason}", rule_id, ENGINE) from None
    return LinearRegex(pattern, compiled)
