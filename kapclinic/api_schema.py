"""The OpenAPI schema says what the API enforces beyond the column types (REST_FRAMEWORK's DEFAULT_SCHEMA_CLASS).

It describes the whole API (courses, measures, reports), so it lives in the project layer, which may
read every app: courses never imports measures (pyproject.toml [tool.importlinter]).

The serializers keep only column limits where the services refuse with a clinical message that
names the plausible range (a reading of 300 mmHg is "outside the plausible range 50–260 mmHg", not
"at most 32767"); the schema must still state that range, or a client (and schemathesis) takes a
refused value for a valid one. Likewise the years a date may hold, and a `version` that a PATCH
requires although every other field of a partial update is optional.
"""

import re

from drf_spectacular import openapi
from drf_spectacular.plumbing import is_patched_serializer
from rest_framework import serializers

from courses import rules
from kernel.api.serializers import RefuseUnknownKeys
from kernel.clock import RECORD_YEARS
from measures.services import MEASURE_SETTINGS_RANGES

# Field name → (minimum, maximum), wherever a request body carries that field. The names are
# unique to their records: vital signs (reading and medical screen) and the two settings rows.
RANGES: dict[str, tuple[int, int]] = {
    **{name: (low, high) for name, (low, high, _unit) in rules.VITAL_RANGES.items()},
    **rules.SETTING_RANGES,
    **MEASURE_SETTINGS_RANGES,
}

# RECORD_YEARS as a pattern on the ISO text (a JSON Schema cannot bound a date's year).
assert RECORD_YEARS == (1900, 2099), "update YEAR_PATTERN with RECORD_YEARS"
YEAR_PATTERN = r"^(19|20)[0-9]{2}-"
YEAR_NOTE = f"Years {RECORD_YEARS[0]}–{RECORD_YEARS[1]}."

NO_NUL = r"^[^\u0000]*$"

# Required in a PATCH too: the view refuses a partial update without it (views._version).
REQUIRED_IN_PATCH = ("version",)


# DRF's decimal pattern also matches "", "-" and "." ("A valid number is required."): ask for a digit.
_DECIMAL_START = re.compile(r"^\^-\?")


class AutoSchema(openapi.AutoSchema):
    def _map_basic_serializer(self, serializer, direction):
        schema = super()._map_basic_serializer(serializer, direction)
        if direction != "request":
            return schema
        properties = schema.get("properties", {})
        if isinstance(serializer, RefuseUnknownKeys):
            schema["additionalProperties"] = False  # a key that is no setting is a 400 naming it
        for name, prop in properties.items():
            if "$ref" in prop:
                continue
            field = serializer.fields.get(name)
            if isinstance(field, serializers.ListField) and not field.allow_empty:
                prop["minItems"] = 1
            if isinstance(field, serializers.DictField) and not field.allow_empty:
                prop["minProperties"] = 1
            if type(field) is serializers.CharField and prop.get("type") == "string" and "pattern" not in prop:
                prop["pattern"] = NO_NUL  # DRF refuses a NUL character in any text ("Null characters…")
            if prop.get("format") == "decimal" and _DECIMAL_START.match(prop.get("pattern", "")):
                prop["pattern"] = _DECIMAL_START.sub(r"^-?(?=\\.?\\d)", prop["pattern"], count=1)
            if name in RANGES and prop.get("type") == "integer":
                low, high = RANGES[name]
                prop["minimum"] = max(prop.get("minimum", low), low)
                prop["maximum"] = min(prop.get("maximum", high), high)
                prop.pop("format", None)  # "int64" was the column, not the rule
            if prop.get("format") in ("date", "date-time"):
                prop["pattern"] = YEAR_PATTERN
                prop["description"] = f"{prop['description']} {YEAR_NOTE}" if prop.get("description") else YEAR_NOTE
        if is_patched_serializer(serializer, direction):
            required = [
                name
                for name in REQUIRED_IN_PATCH
                if name in properties and name in serializer.fields and serializer.fields[name].required
            ]
            if required:
                schema["required"] = required
        return schema
