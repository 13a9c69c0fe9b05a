"""kernel.constraints checks a row's check constraints in one query: the answer must be Django's
own (CheckConstraint.validate, one query each) for every constraint of every model, on rows that
keep them and rows that break them."""

import datetime as dt
import random
from decimal import Decimal

import pytest
from django.apps import apps
from django.core.exceptions import ValidationError
from django.db import models

from kernel.constraints import _checks_held, constraint_errors

MODELS = [
    m
    for m in apps.get_models()
    if m.__module__.split(".")[0] in {"accounts", "courses", "measures", "reports", "ops"}
    and any(isinstance(c, models.CheckConstraint) for c in m._meta.constraints)
]


def _variants(field) -> list:
    """Values that sit on either side of the limits a check constraint draws."""
    if isinstance(field, models.BooleanField):
        return [True, False]
    if isinstance(field, (models.IntegerField, models.FloatField)):
        return [None, -1, 0, 1, 40, 300, 10**6]
    if isinstance(field, models.DecimalField):
        return [None, Decimal("-1"), Decimal("0"), Decimal("0.5"), Decimal("1.5"), Decimal("900")]
    if isinstance(field, models.DateTimeField):
        return [None, dt.datetime(2026, 3, 10, 15, tzinfo=dt.UTC), dt.datetime(1990, 1, 1, tzinfo=dt.UTC)]
    if isinstance(field, models.DateField):
        return [None, dt.date(2026, 3, 10), dt.date(1990, 1, 1)]
    if isinstance(field, (models.CharField, models.TextField)) and not field.choices:
        return ["", "x"]
    if field.choices:
        return [value for value, _label in field.flatchoices][:6] + ["", "zz-not-a-choice"]
    return []


def _rows(model):
    """A default row; that row with each field set to each of its variants in turn; then rows
    with every field drawn at random from its variants at once (a constraint over several fields,
    a ceiling above a maximum or a checklist, is broken only by some of them together)."""
    fields = [
        (f, [v for v in _variants(f) if v is not None or f.null])
        for f in model._meta.concrete_fields
        if not f.is_relation
    ]
    yield model()
    for field, values in fields:
        for value in values:
            row = model()
            setattr(row, field.attname, value)
            yield row
    draw = random.Random(model.__name__)
    for _ in range(150):
        row = model()
        for field, values in fields:
            if values:
                setattr(row, field.attname, draw.choice(values))
        yield row


@pytest.mark.django_db
@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_the_one_query_answers_as_django_does_for_every_check_constraint(model):
    checks = [c for c in model._meta.constraints if isinstance(c, models.CheckConstraint)]
    broken_seen = 0
    for row in _rows(model):
        held = _checks_held(model, checks, row, "default")
        assert held is not None, f"{model.__name__}: the one query could not be made"
        for constraint, ok in zip(checks, held, strict=True):
            try:
                constraint.validate(model, row)
                django_ok = True
            except ValidationError:
                django_ok = False
            assert ok == django_ok, (model.__name__, constraint.name, {f: getattr(row, f) for f in row.__dict__})
            broken_seen += not ok
        names = {c.name for c, _exc in constraint_errors(row) if isinstance(c, models.CheckConstraint)}
        assert names == {c.name for c, ok in zip(checks, held, strict=True) if not ok}
    # The rows reach both sides of the constraints: a test of only valid rows proves little.
    assert broken_seen > 0, f"no variant broke a constraint of {model.__name__}"


@pytest.mark.django_db
def test_a_condition_the_values_cannot_resolve_is_left_to_django():
    # A condition across a join cannot be a check constraint (the system checks refuse it), but
    # should one reach the batch, it falls back to validate(), which lets it pass, as before.
    from courses.models import Course

    across = models.CheckConstraint(condition=models.Q(patient__sex="female"), name="across_a_join")
    assert _checks_held(Course, [across], Course(), "default") is None
    across.validate(Course, Course())
