"""Form widgets and small field helpers every app's web forms use: HTML5 date and time inputs,
numeric keyboards on phones, a capped reason field, and reading back a record's version.
"""

from django import forms

from kernel.text import REASON_MAX

DATETIME_FORMAT = "%Y-%m-%dT%H:%M"


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs, format="%Y-%m-%d")


class DateTimeInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, attrs=None):
        super().__init__(attrs, format=DATETIME_FORMAT)


def numeric(attrs=None, decimal=False):
    base = {"inputmode": "decimal" if decimal else "numeric"}
    base.update(attrs or {})
    return forms.NumberInput(attrs=base)


def reason_field(label: str, *, rows: int = 3, required: bool = False, **kwargs) -> forms.CharField:
    """A free-text reason or note, capped at the services' limit. Optional unless said: where a
    reason is needed depends on the record (an override, a void), and the service says so naming
    the field, so the form does not guess."""
    return forms.CharField(
        label=label,
        widget=forms.Textarea(attrs={"rows": rows}),
        max_length=REASON_MAX,
        required=required,
        **kwargs,
    )


def parse_version(raw: str | None) -> int:
    """The version a page was rendered with. Hidden and never typed: a missing or malformed one is
    treated as an old read (0), a conflict the user can see and resolve, never as "don't check"
    and never as an error on a field they cannot see."""
    raw = (raw or "").strip()
    return int(raw) if raw.isascii() and raw.isdigit() and len(raw) < 10 else 0
