"""Bulk rows for the load generators (measure_scale, measure_tick, measure_report).

The generators load thousands of synthetic courses in seconds, so unlike `devtools.builders` they
do not go through the services: they build model rows here and insert them with bulk_create into
an empty database. Names are plainly fake: "Scale Patient-00001", MRN SCALE-000001,
scale1@example.invalid.

For large loads, `copy_rows` (tuples) and `copy_insert` (model instances) write rows with
PostgreSQL's COPY, several times faster than bulk_create's multi-row INSERTs, and fall back to
bulk_create on SQLite.
"""

import datetime as dt
import functools
import json
import time
import uuid
from decimal import Decimal

from django.db import connection, models, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import Role, User
from courses.choices import Route, SessionFormat, Sex
from courses.models import AdverseEvent, Course, Dose, DosingSession, Patient, VitalReading
from reports import data_version

STAFF_ROLES = {
    "therapist": Role.THERAPIST,
    "therapist2": Role.THERAPIST,
    "provider": Role.MEDICAL_PROVIDER,
    "lead": Role.PRACTICE_LEAD,
}


def staff(prefix: str, keys=tuple(STAFF_ROLES)) -> dict[str, User]:
    """Staff accounts "<prefix>-therapist", … (no password), by key: therapist, therapist2, provider, lead."""
    return {
        key: User.objects.create_user(f"{prefix}-{key}", role=STAFF_ROLES[key], first_name=prefix.title())
        for key in keys
    }


def patient_row(prefix: str, i: int, *, created_at: dt.datetime, **fields) -> Patient:
    """Patient number `i`: MRN PREFIX-00000i, "Prefix Patient-0000i"; a birth date and a sex from
    `i` unless `fields` give them."""
    values = {
        "date_of_birth": dt.date(1950 + i % 50, 1 + i % 12, 1 + i % 28),
        "sex": Sex.FEMALE if i % 2 else Sex.MALE,
        **fields,
    }
    return Patient(id=uuid.uuid4(), **patient_names(prefix, i), created_at=created_at, **values)


def patient_names(prefix: str, i: int) -> dict[str, str]:
    """Patient number `i`'s plainly fake mrn, given_name, family_name and email."""
    return {
        "mrn": f"{prefix.upper()}-{i:06d}",
        "given_name": prefix.title(),
        "family_name": f"Patient-{i:05d}",
        "email": f"{prefix}{i}@example.invalid",
    }


def course_row(patient: Patient, *, provider: User, created_by: User, status: str, at: dt.datetime, **fields) -> Course:
    """A course of `patient` opened (and last moved to `status`) at `at`."""
    return Course(
        id=uuid.uuid4(),
        patient=patient,
        medical_provider=provider,
        status=status,
        status_changed_at=at,
        started_on=timezone.localdate(at),
        created_at=at,
        created_by=created_by,
        **fields,
    )


SESSION_LENGTH = dt.timedelta(hours=3)
# A dose's values unless a generator says otherwise: 35 mg IV on 70 kg (0.5 mg/kg), fasting.
DOSE = {
    "route": Route.IV,
    "dose_mg": Decimal("35"),
    "weight_kg": Decimal("70"),
    "dose_mg_per_kg": Decimal("0.5"),
    "protocol_maximum": Decimal("1.0"),
    "protocol_maximum_unit": "mg/kg",
    "fasting_confirmed": True,
}


def dose_rows(
    course: Course,
    *,
    provider: User,
    start: dt.datetime,
    dosed_at: dt.datetime,
    created_at: dt.datetime,
    format: str = SessionFormat.INDIVIDUAL,
    **overrides,
) -> tuple[DosingSession, Dose]:
    """A three-hour session from `start` and the course's dose in it, given at `dosed_at`: 35 mg IV
    on 70 kg (0.5 mg/kg) unless `overrides` say otherwise."""
    session = DosingSession(
        id=uuid.uuid4(),
        format=format,
        starts_at=start,
        ends_at=start + SESSION_LENGTH,
        medical_provider=provider,
        created_at=created_at,
    )
    values = {**DOSE, **overrides}
    dose = Dose(id=uuid.uuid4(), session=session, course=course, dosed_at=dosed_at, created_at=created_at, **values)
    return session, dose


def insert(
    *,
    patients,
    courses,
    links,
    sessions=(),
    facilitator: User | None = None,
    doses=(),
    vitals=(),
    events=(),
) -> None:
    """Bulk-insert the rows in dependency order; `links` are (course, therapist) pairs, and every
    session gets `facilitator`."""
    Patient.objects.bulk_create(patients, batch_size=2000)
    Course.objects.bulk_create(courses, batch_size=2000)
    Course.therapists.through.objects.bulk_create(
        [Course.therapists.through(course_id=c.pk, user_id=t.pk) for c, t in links], batch_size=5000
    )
    if sessions:
        DosingSession.objects.bulk_create(sessions, batch_size=2000)
        DosingSession.facilitators.through.objects.bulk_create(
            [DosingSession.facilitators.through(dosingsession_id=s.pk, user_id=facilitator.pk) for s in sessions],
            batch_size=5000,
        )
    Dose.objects.bulk_create(doses, batch_size=2000)
    VitalReading.objects.bulk_create(vitals, batch_size=2000)
    AdverseEvent.objects.bulk_create(events, batch_size=2000)


# Field classes whose Python values (str and str choices, int, bool, Decimal, date, aware datetime,
# timedelta, UUID, None) psycopg writes as the column reads them, so copy_rows passes them as they
# are; any other field (JSON, a custom or contrib field) goes through get_db_prep_save, as in
# bulk_create. Exact classes: a subclass may override get_db_prep_value.
_WRITTEN_AS_IS = {
    models.AutoField,
    models.BigAutoField,
    models.SmallAutoField,
    models.IntegerField,
    models.BigIntegerField,
    models.SmallIntegerField,
    models.PositiveIntegerField,
    models.PositiveBigIntegerField,
    models.PositiveSmallIntegerField,
    models.BooleanField,
    models.CharField,
    models.TextField,
    models.EmailField,
    models.SlugField,
    models.DateField,
    models.DateTimeField,
    models.DurationField,
    models.DecimalField,
    models.FloatField,
    models.UUIDField,
}


def _written_as_is(field) -> bool:
    target = field.target_field if field.is_relation else field
    return type(target) in _WRITTEN_AS_IS and not (field.is_relation and target.is_relation)


def _preparer(field):
    """What copy_rows does to a field's value before COPY: None when psycopg writes it as it is."""
    if _written_as_is(field):
        return None
    if type(field) is models.JSONField:
        # The text Django's PostgreSQL backend would send (Jsonb dumped by json.dumps with the
        # field's encoder), made here: COPY reads jsonb from text, and a JSON default shared by
        # every row is then dumped once, not once a row. None stays SQL NULL, as in get_db_prep_save.
        dumps = functools.partial(json.dumps, cls=field.encoder)
        return lambda value: None if value is None else dumps(value)
    return functools.partial(field.get_db_prep_save, connection=connection)


def _copy(model, columns: list[str], rows) -> int:
    """COPY `rows` (tuples of database values in `columns` order) into `model`'s table."""
    quote = connection.ops.quote_name
    sql = f"COPY {quote(model._meta.db_table)} ({', '.join(quote(c) for c in columns)}) FROM STDIN"
    n = 0
    with connection.cursor() as cursor, cursor.copy(sql) as copy:
        for row in rows:
            copy.write_row(row)
            n += 1
    # COPY goes by psycopg's own cursor, past the wrapper that moves the record's data version
    # (reports/data_version.py), so it moves it here: once per transaction, when that commits.
    if not data_version.uncommitted_here():
        transaction.on_commit(data_version.bump, robust=True)
    return n


def copy_rows(model, fields, rows, *, batch_size: int = 5000) -> int:
    """Insert `rows` into `model`'s table; returns how many.

    `fields` names the model's concrete fields by attname ("course_id", not "course"), and each
    row is a tuple of their values in that order, as a model instance would hold them: UUID, str
    (TextChoices members too), int, bool, Decimal, date, aware datetime, None, and lists and
    dicts for JSON fields. Every field not named gets what `Model()` would give it: its default
    (a callable default, such as uuid4 for a UUID primary key, is called for each row), NULL when
    it has none, the database's own default when it has a db_default, and an AutoField left out
    is numbered by its sequence. The caller owns the column order: build `fields` once and
    every row next to it.

    On PostgreSQL this is one `COPY table (columns) FROM STDIN` streamed with psycopg's
    write_row, so `rows` may be a generator of any length. Row triggers fire as for INSERT (the
    record's triggers refuse UPDATE, DELETE and TRUNCATE only), and Django's deferrable foreign
    keys are checked at the end of the transaction, as with bulk_create: keep one transaction's
    load to a few hundred thousand rows (a transaction.atomic() per chunk) so that queue stays
    small. No signals are sent and no instance's save() runs, as with bulk_create. Elsewhere
    (SQLite, in the tests) it builds model instances and bulk_creates them in batches of
    `batch_size`.
    """
    fields = list(fields)
    meta = model._meta
    by_attname = {f.attname: f for f in meta.concrete_fields}
    unknown = [name for name in fields if name not in by_attname]
    if unknown:
        raise ValueError(f"{meta.label} has no concrete field with attname {', '.join(unknown)}")
    if connection.vendor != "postgresql":
        n = 0
        batch = []
        for row in rows:
            batch.append(model(**dict(zip(fields, row, strict=True))))
            if len(batch) >= batch_size:
                n += len(model.objects.bulk_create(batch))
                batch = []
        return n + len(model.objects.bulk_create(batch))

    named = [by_attname[name] for name in fields]
    constant_fields, constants, per_row = [], [], []
    for field in meta.concrete_fields:
        if field.attname in fields or field.generated:
            continue
        if field.db_default is not models.NOT_PROVIDED or (field.primary_key and field.db_returning):
            continue  # the database fills it: its db_default, or an AutoField's sequence
        prepare = _preparer(field) or (lambda value: value)
        if field.has_default() and callable(field.default) and field.default not in (list, dict):
            per_row.append((field, prepare))  # uuid4 and the like: fresh for every row
        else:
            value = prepare(field.get_default())
            if value is None:
                continue  # NULL, as the column has no default of its own
            constant_fields.append(field)
            constants.append(value)
    constants = tuple(constants)
    prepared = [(k, prepare) for k, f in enumerate(named) if (prepare := _preparer(f))]
    columns = [f.column for f in named + [f for f, _ in per_row] + constant_fields]

    def database_rows():
        for row in rows:
            if type(row) is not tuple:
                row = tuple(row)
            if len(row) != len(named):
                raise ValueError(f"a {meta.label} row has {len(row)} values for {len(named)} fields")
            if prepared:
                row = list(row)
                for k, prepare in prepared:
                    row[k] = prepare(row[k])
                row = tuple(row)
            if per_row:
                row += tuple(prepare(field.get_default()) for field, prepare in per_row)
            yield row + constants if constants else row

    return _copy(model, columns, database_rows())


def copy_insert(model, objs, *, batch_size: int = 2000) -> list:
    """Insert model instances as bulk_create(objs) would, with COPY on PostgreSQL; returns `objs`.

    For the load generators' model-instance rows (bulk.patient_row, course_row, dose_rows, or
    `Model(...)` built by hand): each field's value is taken as bulk_create takes it, through
    pre_save (auto_now_add) and get_db_prep_save (JSON, UUID, decimals, datetimes). Instances
    without a primary key are fine only where it is an AutoField: the sequence numbers them and,
    unlike bulk_create on PostgreSQL, their pk stays None (give UUIDs, or re-read the rows, when
    other rows must point at them). Set the primary key of UUID models (their default does)
    before linking other instances to them. Given AutoField keys do not move the sequence (nor
    do bulk_create's). Triggers, deferred foreign keys and signals: as for copy_rows, whose COPY
    this shares. Elsewhere (SQLite): bulk_create(objs, batch_size). A drop-in for bulk_create
    in a generator, e.g. measure_tick's:

        bulk.copy_insert(Administration, administrations)
        bulk.copy_insert(OutboundMessage, messages)  # BigAutoField ids: numbered by the sequence

    copy_rows is the faster path for hundreds of thousands of rows: it skips building instances
    and converts only the fields that need it.
    """
    objs = list(objs)
    if connection.vendor != "postgresql":
        return model.objects.bulk_create(objs, batch_size=batch_size)
    if not objs:
        return objs
    pk = model._meta.pk
    numbered = pk.db_returning and all(obj.pk is None for obj in objs)
    if pk.db_returning and not numbered and any(obj.pk is None for obj in objs):
        raise ValueError(f"{model._meta.label}: give every row a primary key, or none")
    fields = [f for f in model._meta.concrete_fields if not f.generated and not (numbered and f is pk)]
    _copy(
        model,
        [f.column for f in fields],
        (tuple(f.get_db_prep_save(f.pre_save(obj, True), connection) for f in fields) for obj in objs),
    )
    for obj in objs:
        obj._state.adding = False
        obj._state.db = connection.alias
    return objs


def analyze() -> None:
    """On PostgreSQL, ANALYZE: a running clinic's tables have planner statistics; freshly
    bulk-loaded ones do not until autovacuum gets to them, and without them PostgreSQL picks
    nested loops."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")


def measured(action):
    """Run `action()`; returns its result, the number of SQL queries and the seconds it took."""
    with CaptureQueriesContext(connection) as queries:
        started = time.perf_counter()
        result = action()
        elapsed = time.perf_counter() - started
    return result, len(queries.captured_queries), elapsed
