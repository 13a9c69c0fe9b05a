"""The one list field for request bodies: capped, de-duplicated, and a 400 naming the field when not a list.

A list of 5,000 copies of one seriousness criterion was stored as sent, and a bare integer where
a list belonged reached the service (a 500). Every list in a request body is a UniqueListField.
"""

from rest_framework import serializers


class UniqueListField(serializers.ListField):
    """A list of distinct values. `max_length` defaults to the number of choices of a ChoiceField
    child (the most distinct values there are); it is checked on the list as sent, before any item
    is validated, so an oversized list costs nothing. Repeats are dropped, first one kept."""

    def __init__(self, *, child, max_length=None, **kwargs):
        if max_length is None and isinstance(child, serializers.ChoiceField):
            max_length = len(child.choices)
        if max_length is None:
            raise TypeError("UniqueListField needs max_length unless its child is a ChoiceField.")
        kwargs.setdefault("error_messages", {"max_length": "Send at most {max_length} items, each once."})
        super().__init__(child=child, max_length=max_length, **kwargs)

    def to_internal_value(self, data):
        if isinstance(data, list | tuple) and len(data) > self.max_length:
            self.fail("max_length", max_length=self.max_length)
        values = super().to_internal_value(data)
        return list(dict.fromkeys(values))
