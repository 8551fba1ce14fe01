"""Data-quality and spam checks on contact fields.

Each check reads a field's text (see :mod:`leadscore.rules.values`) and answers
true or false. Checks are pure and cached per distinct value, so a batch pre-pass
over a million contacts costs one call per distinct email or phone number.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache
from importlib import resources

import phonenumbers
from disposable_email_domains import blocklist as _DISPOSABLE
from email_validator import EmailNotValidError, validate_email

from leadscore.spec.model import CHECKS, Settings

__all__ = ["CHECKS", "FREE_EMAIL_DOMAINS", "Checker", "email_domain", "keyboard_walk"]


def _load_free_domains() -> frozenset[str]:
    text = resources.files(__package__).joinpath("free_email_domains.txt").read_text("utf-8")
    return frozenset(
        line.strip().lower()
        for line in text.splitlines()
        if line.strip() and not line.startswith("#")
    )


FREE_EMAIL_DOMAINS = _load_free_domains()

# Four adjacent keys of one QWERTY letter row, forwards or backwards.
_ROWS = ("qwertyuiop", "asdfghjkl", "zxcvbnm")
KEYBOARD_RUNS = tuple(
    sorted(
        {row[i : i + 4] for row in _ROWS for i in range(len(row) - 3)}
        | {row[::-1][i : i + 4] for row in _ROWS for i in range(len(row) - 3)}
    )
)
_KEYBOARD_RE = re.compile("|".join(KEYBOARD_RUNS))


def email_domain(text: str) -> str | None:
    """The part after the last '@', lower-cased; None when there is no '@'."""
    if "@" not in text:
        return None
    domain = text.rsplit("@", 1)[1].strip().lower()
    return domain or None


def keyboard_walk(text: str) -> bool:
    return _KEYBOARD_RE.search(text.lower()) is not None


@lru_cache(maxsize=200_000)
def _email_invalid(text: str) -> bool:
    try:
        validate_email(text, check_deliverability=False)
    except EmailNotValidError:
        return True
    return False


@lru_cache(maxsize=200_000)
def _phone_invalid(text: str, region: str) -> bool:
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return True
    return not phonenumbers.is_valid_number(number)


def _not_capitalised(text: str) -> bool:
    first = text[0]
    return first.isalpha() and first.islower()


class Checker:
    """The built-in checks, configured by a model's settings."""

    def __init__(self, settings: Settings | None = None):
        settings = settings or Settings()
        self.region = settings.default_region
        self.free = FREE_EMAIL_DOMAINS | frozenset(settings.free_email_domains)
        self.disposable = frozenset(_DISPOSABLE) | frozenset(settings.disposable_email_domains)
        self._checks: dict[str, Callable[[str | None], bool]] = {
            "free_email": self._free_email,
            "disposable_email": self._disposable_email,
            "invalid_email": lambda t: t is not None and _email_invalid(t),
            "missing_email": lambda t: t is None,
            "missing_phone": lambda t: t is None,
            "invalid_phone": lambda t: t is not None and _phone_invalid(t, self.region),
            "not_capitalised": lambda t: t is not None and _not_capitalised(t),
            "keyboard_walk": lambda t: t is not None and keyboard_walk(t),
            "missing_company": lambda t: t is None,
        }
        assert set(self._checks) == set(CHECKS), "every check in the language is implemented"

    def __call__(self, check: str, text: str | None) -> bool:
        """Run one check on one field's text (None when the field is missing)."""
        return self._checks[check](text)

    def _free_email(self, text: str | None) -> bool:
        domain = email_domain(text) if text else None
        return domain is not None and domain in self.free

    def _disposable_email(self, text: str | None) -> bool:
        domain = email_domain(text) if text else None
        return domain is not None and domain in self.disposable
