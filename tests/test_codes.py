"""Stock codes have one rule, in marketdata.codes (docs/architecture.md §7); every parser imports it."""

import re
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError

from marketdata.codes import is_stock_code, normalize_stock_code, normalize_stock_codes, stock_code_validator

ROOT = Path(__file__).resolve().parent.parent
# Files that may spell the pattern themselves: its home, the migration that froze it, and the one place
# left to move (owned elsewhere; it also accepts codes without the "A").
ALLOWED = {"marketdata/codes.py", "portfolio/forms.py"}


@pytest.mark.parametrize("code", ["A005930", "A0126Z0", "AQ7X9Z1"])
def test_it_accepts_a_and_six_digits_or_capitals(code):
    assert is_stock_code(code)
    stock_code_validator(code)


@pytest.mark.parametrize(
    "code", ["005930", "A00593", "A0059300", "a005930", "A00593a", "A005930\n", " A005930", 5930, None]
)
def test_it_rejects_anything_else(code):
    assert not is_stock_code(code)
    if isinstance(code, str):
        with pytest.raises(ValidationError):
            stock_code_validator(code)


def test_normalizing_trims_and_upper_cases_and_names_what_is_not_a_code():
    assert normalize_stock_code(" a0126z0 ") == "A0126Z0"
    assert normalize_stock_code("A00593") is None
    assert normalize_stock_code(None) is None
    assert normalize_stock_codes(["a005930", "A005930 ", "x1", "A000660"]) == (["A005930", "X1", "A000660"], ["X1"])


def test_no_module_spells_the_code_pattern_but_its_home():
    pattern = re.compile(r"\[0-9A-Z\]\{6\}|\\d\{6\}")
    offenders = []
    for app in ("kernel", "marketdata", "trading", "portfolio", "payments", "stocking", "leagues"):
        for path in (ROOT / app).rglob("*.py"):
            relative = path.relative_to(ROOT).as_posix()
            if "/migrations/" in relative or relative in ALLOWED:
                continue
            if pattern.search(path.read_text(encoding="utf-8")):
                offenders.append(relative)
    assert offenders == []
