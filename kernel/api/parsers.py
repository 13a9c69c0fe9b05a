"""The API's JSON parser: a body nested too deep, or not JSON at all, is a 400 in the API's error shape.

Python's JSON decoder recurses once per `[` or `{`: about a thousand of them (2 KB of brackets)
raised RecursionError inside DRF, a 500 with a traceback. Nothing the API accepts is nested more
than a few levels (the deepest is an amendment's `changes` holding a list), so MAX_DEPTH is generous.
"""

from rest_framework import parsers
from rest_framework.exceptions import ParseError

MAX_DEPTH = 20


class BodyError(ParseError):
    """A body the API cannot read: `errors` names the field where one is at fault (see errors.py)."""

    def __init__(self, message: str, field: str = "non_field_errors"):
        super().__init__(message)
        self.field = field


def _too_deep(value, limit: int) -> str | None:
    """The top-level key under which VALUE nests deeper than LIMIT ("non_field_errors" for the body
    itself), or None. Iterative: a recursive walk would hit the recursion limit it guards against."""
    stack = [(value, 1, None)]
    while stack:
        node, depth, top = stack.pop()
        if not isinstance(node, dict | list):
            continue
        if depth > limit:
            return top or "non_field_errors"
        items = node.items() if isinstance(node, dict) else ((None, item) for item in node)
        for key, inner in items:
            stack.append((inner, depth + 1, top if depth > 1 else (key if isinstance(node, dict) else None)))
    return None


def _depth_message(limit: int) -> str:
    return f"Lists and objects are nested more than {limit} levels deep; at most {limit} are accepted."


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise BodyError(_depth_message(MAX_DEPTH)) from None
        except ParseError as exc:
            # DRF's text carries the decoder's position ("line 1 column 2 (char 1)"): keep it.
            reason = str(exc.detail).removeprefix("JSON parse error - ")
            raise BodyError(f"The body is not valid JSON: {reason}") from None
        field = _too_deep(data, MAX_DEPTH)
        if field is not None:
            raise BodyError(_depth_message(MAX_DEPTH), field=field)
        return data
