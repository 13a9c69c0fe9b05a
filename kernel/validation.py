"""How a service refuses input: a ValidationError keyed by the field concerned, which a web form
shows beside that field and the API returns under `errors`. Every app's services refuse this way.
"""

from typing import NoReturn

from django.core.exceptions import ValidationError

from kernel.text import has_visible_character, text_length_error


def fail(field: str, message: str) -> NoReturn:
    raise ValidationError({field: message})


def optional_text(field: str, value: str, limit: int) -> str:
    """Free text written with create() or update(), where full_clean does not see it: trimmed,
    and no longer than its column holds."""
    text = (value or "").strip()
    too_long = text_length_error(text, limit)
    if too_long:
        fail(field, too_long)
    return text


def required_text(field: str, value: str, missing: str, limit: int) -> str:
    """The same for text the rules ask for (a reason, what was done): `missing` says what to write.
    Text with nothing visible in it (zero-width or blank-pattern characters only) is no reason."""
    text = optional_text(field, value, limit)
    if not has_visible_character(text):
        fail(field, missing)
    return text
