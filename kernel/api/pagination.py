"""Paging for every API list: `limit` and `offset`, refused (400 naming the parameter) when out of range.

DRF's LimitOffsetPagination quietly ignores a `limit` or `offset` it cannot read and clamps a
large `limit`: a client asking for 1,000 rows got 200 and could not tell. Here a bad value is
a 400 naming the parameter and the bound, and the schema states the bounds.
"""

from rest_framework import serializers
from rest_framework.pagination import LimitOffsetPagination

DEFAULT_LIMIT = 50
MAX_LIMIT = 200
# A row count no clinic reaches; it keeps the OFFSET inside what the database accepts (a
# larger one was a "bigint out of range" server error on PostgreSQL).
MAX_OFFSET = 2**31 - 1


def _bounded(request, name: str, low: int, high: int, default: int) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    field = serializers.IntegerField(min_value=low, max_value=high)
    try:
        return field.run_validation(raw)
    except serializers.ValidationError as exc:
        raise serializers.ValidationError({name: exc.detail}) from None


class Pagination(LimitOffsetPagination):
    default_limit = DEFAULT_LIMIT
    max_limit = MAX_LIMIT

    def paginate_queryset(self, queryset, request, view=None, count=None):
        """The page of QUERYSET the request asks for. COUNT, if given, counts as many rows in a form
        the database counts faster (a list's selector knows one: a therapist's courses are their
        assignments): a queryset of them, or a function answering the number. The list's own
        queryset is counted otherwise."""
        self.counted = count
        return super().paginate_queryset(queryset, request, view)

    def get_count(self, queryset):
        counted = getattr(self, "counted", None)
        if callable(counted):
            return counted()
        return super().get_count(queryset if counted is None else counted)

    def get_limit(self, request):
        return _bounded(request, self.limit_query_param, 1, self.max_limit, self.default_limit)

    def get_offset(self, request):
        return _bounded(request, self.offset_query_param, 0, MAX_OFFSET, 0)

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        bounds = {
            self.limit_query_param: {"minimum": 1, "maximum": self.max_limit, "default": self.default_limit},
            self.offset_query_param: {"minimum": 0, "maximum": MAX_OFFSET, "default": 0},
        }
        for parameter in parameters:
            parameter["schema"].update(bounds.get(parameter["name"], {}))
        limit_help = f"Rows per page: 1 to {self.max_limit} (default {self.default_limit}); outside that, a 400."
        offset_help = f"Rows to skip: 0 to {MAX_OFFSET}; outside that, a 400."
        for parameter in parameters:
            if parameter["name"] == self.limit_query_param:
                parameter["description"] = limit_help
            elif parameter["name"] == self.offset_query_param:
                parameter["description"] = offset_help
        return parameters
