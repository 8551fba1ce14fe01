"""The built-in data-quality and spam checks."""

from __future__ import annotations

import pytest

from leadscore.quality import (
    FREE_EMAIL_DOMAINS,
    KEYBOARD_RUNS,
    Checker,
    email_domain,
    keyboard_walk,
)
from leadscore.spec.model import CHECKS, Settings


@pytest.mark.parametrize(
    ("check", "text", "expected"),
    [
        ("free_email", "ann@gmail.com", True),
        ("free_email", "Ann@GMAIL.COM ", True),
        ("free_email", "ivan@mail.ru", True),
        ("free_email", "li@qq.com", True),
        ("free_email", "ann@acme.com", False),
        ("free_email", "not-an-email", False),
        ("free_email", None, False),
        ("disposable_email", "x@mailinator.com", True),
        ("disposable_email", "x@acme.com", False),
        ("invalid_email", "ann@@acme.com", True),
        ("invalid_email", "ann acme.com", True),
        ("invalid_email", "ann@acme.com", False),
        ("invalid_email", None, False),
        ("missing_email", None, True),
        ("missing_email", "a@b.co", False),
        ("missing_phone", None, True),
        ("missing_phone", "+1 650 253 0000", False),
        ("invalid_phone", "+1 650 253 0000", False),
        ("invalid_phone", "(650) 253-0000", False),  # US is the default region
        ("invalid_phone", "+44 20 7946 0958", False),
        ("invalid_phone", "12345", True),
        ("invalid_phone", "call me", True),
        ("invalid_phone", None, False),
        ("not_capitalised", "john", True),
        ("not_capitalised", "John", False),
        ("not_capitalised", "acme inc", True),
        ("not_capitalised", "3M", False),
        ("not_capitalised", None, False),
        ("keyboard_walk", "asdf", True),
        ("keyboard_walk", "Mr QWER", True),
        ("keyboard_walk", "lkjh", True),  # right to left
        ("keyboard_walk", "zxcv ltd", True),
        ("keyboard_walk", "asd", False),
        ("keyboard_walk", "Wertheim", True),  # w-e-r-t is a real walk, even in a name
        ("keyboard_walk", "Smith", False),
        ("missing_company", None, True),
        ("missing_company", "Acme", False),
    ],
)
def test_check(check: str, text: str | None, expected: bool) -> None:
    assert Checker()(check, text.strip() if text else text) is expected


def test_every_check_in_the_language_is_tested_above() -> None:
    assert set(CHECKS) == {
        "free_email",
        "disposable_email",
        "invalid_email",
        "missing_email",
        "missing_phone",
        "invalid_phone",
        "not_capitalised",
        "keyboard_walk",
        "missing_company",
    }


def test_settings_extend_lists_and_set_the_phone_region() -> None:
    checker = Checker(Settings(free_email_domains=("Corp-Mail.example",), default_region="GB"))
    assert checker("free_email", "a@corp-mail.example")
    assert not checker("invalid_phone", "020 7946 0958")  # a London number without +44
    assert Checker()("invalid_phone", "020 7946 0958")  # not valid as a US number


def test_helpers() -> None:
    assert email_domain("A@B@Example.COM") == "example.com" and email_domain("none") is None
    assert len(KEYBOARD_RUNS) == 34 and "poiu" in KEYBOARD_RUNS
    assert keyboard_walk("TREW") and not keyboard_walk("qwe rty")
    assert "gmail.com" in FREE_EMAIL_DOMAINS and "acme.com" not in FREE_EMAIL_DOMAINS
