"""Stock codes (docs/architecture.md §7): the one place that knows what a KRX code looks like; everything else
imports it.

A code is "A" plus six characters: digits, or since 2024 digits and capitals for new listings
(A0126Z0). Never `\\d{6}`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from django.core.validators import RegexValidator
from django.utils.translation import gettext_lazy as _

STOCK_CODE_PATTERN = r"A[0-9A-Z]{6}"
STOCK_CODE_RE = re.compile(rf"{STOCK_CODE_PATTERN}\Z")

# For model fields and serializers: the same rule, with a message a user can act on.
stock_code_validator = RegexValidator(
    rf"^{STOCK_CODE_PATTERN}\Z", _("A stock code is A followed by six digits or capitals.")
)


def is_stock_code(value: object) -> bool:
    return isinstance(value, str) and STOCK_CODE_RE.match(value) is not None


def normalize_stock_code(value: object) -> str | None:
    """The code trimmed and upper-cased ("a005930 " -> "A005930"), or None when it is not a stock code."""
    if not isinstance(value, str):
        return None
    code = value.strip().upper()
    return code if is_stock_code(code) else None


def normalize_stock_codes(values: Iterable[str]) -> tuple[list[str], list[str]]:
    """The codes trimmed, upper-cased and de-duplicated in order, and those of them that are not stock codes."""
    codes = list(dict.fromkeys(value.strip().upper() for value in values))
    return codes, [code for code in codes if not is_stock_code(code)]
