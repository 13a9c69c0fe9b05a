"""The one-row settings tables' shared base, and the one way a change to such a row is applied.

The clinic's clinical settings (courses.ClinicSettings), its measure schedule
(measures.MeasureSettings) and its outcome definitions (reports.OutcomeSettings) are each one
row, read everywhere and changed only by the practice lead through a service. `SingletonSettings`
gives them `load()` (the row, created with its defaults the first time) and `load_for_update()`
(the row, locked); `settings_update` applies a change to that locked row: it diffs, sets, stamps
`updated_at` and `updated_by`, runs the app's own checks, saves and hands what changed to the
app's audit callback. Who may change a row, and which names are settings, stay the app's service's.

An abstract model with no fields: inheriting it changes no table and needs no migration.
"""

from collections.abc import Callable
from datetime import datetime
from typing import Any, Self

from django.db import models

# {field: (value before, value after)} for each setting the change altered, in the order given.
Changes = dict[str, tuple[Any, Any]]


class SingletonSettings(models.Model):
    """A settings table of exactly one row (id 1)."""

    class Meta:
        abstract = True

    @classmethod
    def load(cls) -> Self:
        obj, _ = cls.objects.get_or_create(id=1)
        return obj

    @classmethod
    def load_for_update(cls) -> Self:
        """The row, locked until the transaction ends (call inside transaction.atomic)."""
        return cls.objects.select_for_update().get(pk=cls.load().pk)


def _full_clean_and_save(row: models.Model) -> None:
    row.full_clean()
    row.save()


def settings_update(
    row: SingletonSettings,
    fields: dict[str, Any],
    *,
    by,
    now: datetime,
    check: Callable[[SingletonSettings, Changes], None] | None = None,
    save: Callable[[SingletonSettings], Any] = _full_clean_and_save,
    audit: Callable[[Changes], Any] | None = None,
) -> Changes:
    """Apply FIELDS to ROW (loaded with load_for_update) and return what changed.

    The values set, the row is stamped (`updated_at` NOW, `updated_by` BY), CHECK(row, changes)
    raises ValidationError for the app's rules across fields, SAVE(row) validates and writes it
    (default: full_clean, then save), and AUDIT(changes) is called once when anything differs."""
    changes: Changes = {
        name: (getattr(row, name), value) for name, value in fields.items() if getattr(row, name) != value
    }
    for name, value in fields.items():
        setattr(row, name, value)
    row.updated_at, row.updated_by = now, by
    if check is not None:
        check(row, changes)
    save(row)
    if changes and audit is not None:
        audit(changes)
    return changes
