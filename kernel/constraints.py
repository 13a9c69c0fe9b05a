"""A row's constraints checked before it is saved, the check constraints in one query.

Django's Model.validate_constraints asks the database once per CheckConstraint (`SELECT 1 WHERE
<condition>` on the row's values), each inside a savepoint when a transaction is open: three round
trips a constraint. A dose row has ten, a medical evaluation thirteen, so a clinical write spent
most of its time there (a test cohort's 300 saves: 23 of 63 s). Here every check constraint of a
model is one column of a single SELECT over the same values, in one savepoint; only a constraint
that comes back broken is asked again the Django way, for its own error (a rare path: the services
check what they can first). Unique constraints are validated as Django does (they read the table).
"""

from contextlib import nullcontext

from django.core.exceptions import FieldError, ValidationError
from django.db import DatabaseError, connections, router, transaction
from django.db.models import BooleanField, CheckConstraint, Model, Q, Value
from django.db.models.functions import Coalesce
from django.db.models.sql import Query
from django.db.models.sql.constants import SINGLE


def _checks_held(model_class, checks: list[CheckConstraint], record: Model, using: str) -> list[bool] | None:
    """For each check constraint, whether the row's values keep it (NULL keeps it, as in the
    database); None when the one query cannot be made, and the caller asks one by one."""
    connection = connections[using]
    if not connection.features.supports_comparing_boolean_expr:
        return None
    context = transaction.atomic(using=using) if connection.in_atomic_block else nullcontext()
    try:
        # The same values Q.check binds (CheckConstraint.validate), as named annotations. A
        # condition that cannot be resolved against them (FieldError) is left to validate(),
        # which lets it pass as Django does.
        query = Query(None)
        for name, value in record._get_field_expression_map(meta=model_class._meta).items():
            query.add_annotation(value if hasattr(value, "resolve_expression") else Value(value), name, select=False)
        for index, constraint in enumerate(checks):
            held = Coalesce(Q(constraint.condition), True, output_field=BooleanField())
            query.add_annotation(held, f"_held_{index}")
        with context:
            row = query.get_compiler(using=using).execute_sql(SINGLE)
    except (DatabaseError, FieldError):
        return None
    return [bool(value) for value in row]


def constraint_errors(record: Model) -> list[tuple[object, ValidationError]]:
    """The constraints this row breaks, each with Django's own error for it, in the order of
    Model.validate_constraints."""
    using = router.db_for_write(type(record), instance=record)
    broken = []
    for model_class, constraints in record.get_constraints():
        checks = [c for c in constraints if isinstance(c, CheckConstraint)]
        held = _checks_held(model_class, checks, record, using) if checks else None
        passed = {id(c) for c, ok in zip(checks, held, strict=True) if ok} if held else set()
        for constraint in constraints:
            if id(constraint) in passed:
                continue
            try:
                constraint.validate(model_class, record, using=using)
            except ValidationError as exc:
                broken.append((constraint, exc))
    return broken


def raise_constraint_errors(broken: list[tuple[object, ValidationError]], errors: dict | None = None) -> None:
    """Raise `broken` (with `errors` already found) as Model.validate_constraints would: a unique
    constraint of one field under that field, any other under its own key (usually __all__)."""
    errors = dict(errors or {})
    for constraint, exc in broken:
        fields = getattr(constraint, "fields", ())
        if getattr(exc, "code", None) == "unique" and len(fields) == 1:
            errors.setdefault(fields[0], []).append(exc)
        else:
            errors = exc.update_error_dict(errors)
    if errors:
        raise ValidationError(errors)
