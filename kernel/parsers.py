"""JSON from outside, bounded (docs/architecture.md §11): at most MAX_JSON_DEPTH levels of nesting, and API bodies
at most
DATA_UPLOAD_MAX_MEMORY_SIZE bytes.

Python's json recurses once per level, so a body of a few KB nested ~1,000 deep raises RecursionError
(a 500) instead of a parse error; the depth is therefore measured before parsing, without recursion.
"""

from __future__ import annotations

import json
import re
from itertools import accumulate
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.utils.translation import gettext as _
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser, get_encoding
from rest_framework.utils.json import strict_constant

# Our bodies and messages nest two or three levels; this leaves room and stays far from the recursion limit.
MAX_JSON_DEPTH = 32

_STRINGS = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)  # brackets inside strings do not nest
_NOT_BRACKETS = re.compile(r"[^\[\]{}]+")
_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}


class JsonTooDeep(ValueError):
    """The text nests arrays and objects deeper than allowed; a ValueError, like any other bad JSON."""


def json_depth(text: str) -> int:
    """How deep the arrays and objects of a JSON text nest, counted in linear time without recursion."""
    brackets = _NOT_BRACKETS.sub("", _STRINGS.sub('""', text))
    return max(accumulate(map(_STEP.__getitem__, brackets)), default=0)


def json_loads_bounded(text: str, *, max_depth: int = MAX_JSON_DEPTH, **kwargs) -> Any:
    """json.loads for text from outside: raises ValueError (JsonTooDeep when it nests too deep), never
    RecursionError."""
    if json_depth(text) > max_depth:
        raise JsonTooDeep(f"JSON may nest at most {max_depth} levels.")
    return json.loads(text, **kwargs)


class BoundedJSONParser(JSONParser):
    """DRF's JSONParser with the bounds: a body over DATA_UPLOAD_MAX_MEMORY_SIZE is a 413 (DRF reads the
    request stream, which Django's own size check never sees), nesting past MAX_JSON_DEPTH a 400.

    Imports nothing of kernel.errors: DRF loads this class while kernel.errors imports rest_framework.views."""

    def parse(self, stream, media_type=None, parser_context=None):
        encoding = get_encoding(parser_context or {})
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        body = stream.read() if limit is None else stream.read(limit + 1)
        if limit is not None and len(body) > limit:
            # the exception Django's own check raises; kernel.errors answers it with 413
            raise RequestDataTooBig("Request body exceeded settings.DATA_UPLOAD_MAX_MEMORY_SIZE.")
        try:
            return json_loads_bounded(body.decode(encoding), parse_constant=strict_constant if self.strict else None)
        except JsonTooDeep as exc:
            raise ParseError(_("JSON may nest at most %(max_depth)s levels.") % {"max_depth": MAX_JSON_DEPTH}) from exc
        except ValueError as exc:  # UnicodeDecodeError included; Python's own detail stays as it is
            raise ParseError(_("JSON parse error - %(detail)s") % {"detail": exc}) from exc
