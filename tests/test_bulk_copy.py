"""devtools.bulk's COPY paths write the rows bulk_create would: the same values read back, field by
field, for JSON, UUIDs, timestamps in any zone, decimals, choices, text COPY must escape, NULLs,
and the defaults of the fields a tuple leaves out. On SQLite both fall back to bulk_create, and
the same comparisons hold.

Each comparison inserts one set of rows with bulk_create inside a savepoint, reads them back and
rolls back (the record's tables refuse DELETE), then inserts the same rows with COPY.
"""

import datetime as dt
import uuid
import zoneinfo
from decimal import Decimal

import pytest
from django.db import connection, models, transaction
from django.test.utils import isolate_apps

from courses.choices import Indication, Route, SessionFormat, Sex, VitalPhase
from courses.models import AdverseEvent, Course, Dose, DosingSession, Patient, VitalReading
from devtools import bulk
from measures.models import Administration, MessageKind, OutboundMessage, Response, ResponseSource

NEW_YORK = zoneinfo.ZoneInfo("America/New_York")
AT = dt.datetime(2026, 3, 7, 23, 59, 59, 123456, tzinfo=NEW_YORK)  # microseconds, a zone, a UTC date apart
# What text COPY must escape: tab, newline, carriage return, backslash, a literal \N, quotes, non-ASCII.
AWKWARD = "tab\there\nnew line\r\\ back\\slash \\N \"quoted\" 'single' — Zoë 🌿"


class _Rollback(Exception):
    pass


def read_back(model, insert, pks=None) -> list[dict]:
    """Run `insert()` in a savepoint, read `model`'s rows (all of them, or those of `pks`) as
    attname → value dicts ordered by pk, and roll back."""
    rows = []
    try:
        with transaction.atomic():
            insert()
            query = model.objects.all() if pks is None else model.objects.filter(pk__in=pks)
            rows.extend(query.order_by("pk").values(*[f.attname for f in model._meta.concrete_fields]))
            raise _Rollback
    except _Rollback:
        pass
    return rows


@pytest.fixture
def staff(db):
    return bulk.staff("copytest")


def practice(staff) -> dict:
    """One small practice of model instances, every kind the generators write, with awkward values."""
    patient = bulk.patient_row(
        "copytest", 1, created_at=AT, race_ethnicity="", void_reason=AWKWARD, phone="+1 555 0100"
    )
    course = bulk.course_row(
        patient,
        provider=staff["provider"],
        created_by=staff["lead"],
        status="follow_up",
        at=AT,
        indication=Indication.PTSD,
        format=SessionFormat.GROUP,
        discontinued_reason=AWKWARD,
        follow_up_stopped_at=None,
    )
    session, dose = bulk.dose_rows(
        course,
        provider=staff["provider"],
        start=AT,
        dosed_at=AT + dt.timedelta(minutes=10),
        created_at=AT - dt.timedelta(days=3),
        format=SessionFormat.GROUP,
        route=Route.IM,
        dose_mg=Decimal("37.5"),
        weight_kg=Decimal("74.5"),
        dose_mg_per_kg=Decimal("0.5"),
        protocol_ceiling=None,
        concomitant_medications=AWKWARD,
    )
    vital = VitalReading(
        dose=dose,
        taken_at=AT,
        phase=VitalPhase.PRE_DOSE,
        systolic_bp=172,
        diastolic_bp=96,
        heart_rate=None,
        alerts=["pre_dose_hold", "high_bp"],
        thresholds_in_force={"systolic": {"hold": 160}, "note": AWKWARD, "ratio": 0.5, "none": None},
        created_at=AT,
    )
    event = AdverseEvent(
        course=course,
        dose=dose,
        term="nausea",
        grade=3,
        serious=True,
        serious_criteria=["hospitalisation"],
        onset_at=AT + dt.timedelta(minutes=40),
        resolved_at=None,
        relatedness="possible",
        expectedness="expected",
        description=AWKWARD,
        created_at=AT,
    )
    administration = Administration(
        course=course,
        instrument="pcl5",
        timepoint="baseline",
        target_date=AT.date(),
        open_from=AT.date() - dt.timedelta(days=7),
        due_by=AT.date(),
        missed_after=AT.date() + dt.timedelta(days=7),
        status="completed",
        completed_at=AT,
        created_at=AT,
    )
    response = Response(
        administration=administration,
        course=course,
        patient=patient,
        instrument="pcl5",
        answers={"q1": 4, "q2": 0, "free text": AWKWARD, "nested": [1, {"a": None}]},
        complete=True,
        total=41,
        band="",
        clusters={"B": 9, "C": 4},
        provisional_ptsd_cutoff=True,
        provisional_ptsd_symptom_rule=None,
        scoring_version="v1",
        source=ResponseSource.SELF_REPORT,
        answered_at=AT,
    )
    message = OutboundMessage(
        kind=MessageKind.INVITATION,
        channel="email",
        to_address="copytest1@example.invalid",
        administration=administration,
        created_at=AT,
        next_attempt_at=None,
        last_error=AWKWARD,
    )
    return {
        Patient: [patient],
        Course: [course],
        Course.therapists.through: [Course.therapists.through(course=course, user=staff["therapist"])],
        DosingSession: [session],
        DosingSession.facilitators.through: [
            DosingSession.facilitators.through(dosingsession=session, user=staff["therapist"])
        ],
        Dose: [dose],
        VitalReading: [vital],
        AdverseEvent: [event],
        Administration: [administration],
        Response: [response],
        OutboundMessage: [message],
    }


def instances(model, fields, tuples) -> list:
    return [model(**dict(zip(fields, t, strict=True))) for t in tuples]


def without_numbered_pk(model, rows: list[dict]) -> list[dict]:
    # An AutoField's number comes from a sequence, which a rolled-back savepoint does not give back.
    if model._meta.pk.db_returning:
        return [{k: v for k, v in row.items() if k != model._meta.pk.attname} for row in rows]
    return rows


def test_copy_insert_writes_what_bulk_create_writes(staff):
    rows = practice(staff)

    def insert(how):
        def run():
            for model, objs in rows.items():
                if model._meta.pk.db_returning:
                    for obj in objs:
                        obj.pk = None  # numbered afresh each time
                how(model, objs)

        return run

    def by_bulk_create(model, objs):
        model.objects.bulk_create(objs)

    wanted = {model: read_back(model, insert(by_bulk_create)) for model in rows}
    got = {model: read_back(model, insert(bulk.copy_insert)) for model in rows}
    for model in rows:
        assert len(got[model]) == len(rows[model]), model
        assert without_numbered_pk(model, got[model]) == without_numbered_pk(model, wanted[model]), model
    vital = got[VitalReading][0]
    assert vital["heart_rate"] is None
    assert vital["thresholds_in_force"]["note"] == AWKWARD
    assert got[Patient][0]["void_reason"] == AWKWARD
    assert got[Dose][0]["dose_mg"] == Decimal("37.5")
    assert got[Dose][0]["dosed_at"] == AT + dt.timedelta(minutes=10)
    assert isinstance(got[OutboundMessage][0]["id"], int)


def test_copy_insert_keeps_given_autofield_keys(staff):
    rows = practice(staff)
    Patient.objects.bulk_create(rows[Patient])
    Course.objects.bulk_create(rows[Course])
    through = Course.therapists.through
    bulk.copy_insert(through, [through(id=900_001, course=rows[Course][0], user=staff["therapist"])])
    assert through.objects.get(pk=900_001).user == staff["therapist"]


def test_copy_rows_gives_left_out_fields_their_model_defaults(staff):
    """A tuple names a few fields; the rest get what Model() gives them: "" and the declared
    defaults, NULL, and a fresh uuid4 for each row's primary key."""
    fields = ("mrn", "given_name", "family_name", "email", "date_of_birth", "sex", "created_at")
    tuples = [
        (f"COPYTEST-{k:06d}", "Copytest", AWKWARD, f"copytest{k}@example.invalid", dt.date(1980, 2, 29), Sex.FEMALE, AT)
        for k in range(3)
    ]
    wanted = read_back(Patient, lambda: Patient.objects.bulk_create(instances(Patient, fields, tuples)))
    assert bulk.copy_rows(Patient, fields, iter(tuples)) == 3
    got = list(Patient.objects.order_by("mrn").values())
    assert len({row["id"] for row in got}) == 3
    assert all(isinstance(row["id"], uuid.UUID) for row in got)

    def strip(rows):
        return sorted(({k: v for k, v in row.items() if k != "id"} for row in rows), key=lambda row: row["mrn"])

    assert strip(got) == strip(wanted)
    assert got[0]["preferred_channel"] == "email" and got[0]["version"] == 1 and got[0]["voided_at"] is None


def test_copy_rows_prepares_json_and_numbers_through_tables(staff):
    course = practice(staff)
    for model in (Patient, Course, DosingSession, Dose):
        model.objects.bulk_create(course[model])
    dose = course[Dose][0]
    fields = (
        "dose_id",
        "taken_at",
        "phase",
        "systolic_bp",
        "heart_rate",
        "alerts",
        "thresholds_in_force",
        "created_at",
    )
    tuples = [
        (dose.pk, AT, VitalPhase.PRE_DOSE, 124, None, [], {"x": AWKWARD}, AT),
        (dose.pk, AT + dt.timedelta(hours=1), VitalPhase.DURING, None, 80, ["high_bp"], {}, AT),
    ]
    wanted = read_back(VitalReading, lambda: VitalReading.objects.bulk_create(instances(VitalReading, fields, tuples)))
    bulk.copy_rows(VitalReading, fields, tuples)
    got = list(VitalReading.objects.values())

    def strip(rows):
        return sorted(({k: v for k, v in row.items() if k != "id"} for row in rows), key=lambda row: row["taken_at"])

    assert strip(got) == strip(wanted)
    assert strip(got)[1]["systolic_bp"] is None and strip(got)[1]["alerts"] == ["high_bp"]
    # The through table's AutoField is left out of the tuple: its sequence numbers the rows.
    through = Course.therapists.through
    bulk.copy_rows(through, ("course_id", "user_id"), [(course[Course][0].pk, staff["therapist"].pk)])
    assert through.objects.get().pk > 0


def test_copy_rows_refuses_unknown_fields_and_short_rows(staff):
    with pytest.raises(ValueError, match="no concrete field"):
        bulk.copy_rows(Patient, ("mrn", "patient"), [])
    with pytest.raises(ValueError):
        bulk.copy_rows(Patient, ("mrn", "given_name"), [("COPYTEST-000009",)])


@pytest.mark.skipif(connection.vendor != "postgresql", reason="arrays are PostgreSQL's")
def test_copy_writes_arrays_and_nulls_in_them(db):
    from django.contrib.postgres.fields import ArrayField

    with isolate_apps("devtools"):

        class Sample(models.Model):
            id = models.UUIDField(primary_key=True, default=uuid.uuid4)
            numbers = ArrayField(models.IntegerField(null=True), default=list)
            words = ArrayField(models.CharField(max_length=100), null=True)
            at = models.DateTimeField(null=True)
            amount = models.DecimalField(max_digits=8, decimal_places=3, null=True)
            data = models.JSONField(null=True)

            class Meta:
                app_label = "devtools"
                db_table = "devtools_copy_sample"

            def __str__(self):
                return str(self.pk)

        with connection.schema_editor() as editor:  # inside the test's transaction: rolled back with it
            editor.create_model(Sample)
        samples = [
            Sample(numbers=[1, None, 3], words=["a", AWKWARD, "{b,c}"], at=AT, amount=Decimal("1.250"), data=[AWKWARD]),
            Sample(numbers=[], words=None, at=None, amount=None, data=None),
        ]
        wanted = read_back(Sample, lambda: Sample.objects.bulk_create(samples))
        bulk.copy_insert(Sample, samples)
        assert read_back(Sample, lambda: None) == wanted
        fields = ("numbers", "words")
        bulk.copy_rows(Sample, fields, [([7, None], ["x\ty"])])
        row = Sample.objects.exclude(pk__in=[s.pk for s in samples]).values(*fields).get()
        assert row == {"numbers": [7, None], "words": ["x\ty"]}
