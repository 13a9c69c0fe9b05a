"""Bedside safety (issue 11): screen answers, hold overrides as rows, in-session alerts, dose
ceilings and recorded weights, discharge exceptions, minimum age, course-level adverse events."""

import courses.models
import django.db.models.deletion
import uuid
from decimal import Decimal
from django.conf import settings
from django.db import migrations, models


SCREEN_ITEMS = [
    "ci_psychosis_or_mania",
    "ci_pregnancy",
    "ci_aneurysmal_vascular_disease",
    "ci_intracerebral_haemorrhage",
    "ci_ketamine_hypersensitivity",
    "caution_uncontrolled_hypertension",
    "caution_raised_icp_or_iop",
    "caution_cardio_cerebrovascular",
    "caution_substance_use_history",
    "caution_breastfeeding",
    "caution_recent_suicidality",
    "caution_interacting_medications",
]
# A boolean column turned into text reads 'true'/'false' on PostgreSQL and '1'/'0' on SQLite.
TRUE_TEXT = ("true", "1", "t", "True")


def checks_immediate(apps, schema_editor):
    # The data steps below update rows of tables this migration then alters; PostgreSQL refuses
    # ALTER TABLE while deferred foreign-key checks of those updates are pending in the transaction.
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("SET CONSTRAINTS ALL IMMEDIATE")


def screen_answers_forward(apps, schema_editor):
    """Screens recorded as ticked boxes become answers: a ticked box was a 'yes', an unticked one
    a 'no' (the form asked each item, with 'no' preselected: the one reading the old rows allow)."""
    MedicalEvaluation = apps.get_model("courses", "MedicalEvaluation")
    for item in SCREEN_ITEMS:
        MedicalEvaluation.objects.filter(**{f"{item}__in": TRUE_TEXT}).update(**{item: "yes"})
        MedicalEvaluation.objects.exclude(**{f"{item}__in": ["yes", "no", "unknown"]}).update(**{item: "no"})


def screen_answers_backward(apps, schema_editor):
    MedicalEvaluation = apps.get_model("courses", "MedicalEvaluation")
    true_value = "true" if schema_editor.connection.vendor == "postgresql" else "1"
    false_value = "false" if schema_editor.connection.vendor == "postgresql" else "0"
    for item in SCREEN_ITEMS:
        MedicalEvaluation.objects.filter(**{item: "yes"}).update(**{item: true_value})
        MedicalEvaluation.objects.exclude(**{item: true_value}).update(**{item: false_value})


def events_belong_to_courses(apps, schema_editor):
    """Every adverse event so far was recorded at a dose: its course is the dose's course."""
    AdverseEvent = apps.get_model("courses", "AdverseEvent")
    DosingParticipant = apps.get_model("courses", "DosingParticipant")
    course_of = dict(DosingParticipant.objects.values_list("pk", "course_id"))
    for event in AdverseEvent.objects.filter(course__isnull=True).only("pk", "participant_id"):
        AdverseEvent.objects.filter(pk=event.pk).update(course_id=course_of[event.participant_id])


def overrides_to_rows(apps, schema_editor):
    """One override per dose becomes a row naming the high pre-dose reading it was made for: the
    latest reading that set a hold before the override (the service refused an override without one)."""
    DosingParticipant = apps.get_model("courses", "DosingParticipant")
    VitalReading = apps.get_model("courses", "VitalReading")
    HoldOverride = apps.get_model("courses", "HoldOverride")
    for dose in DosingParticipant.objects.filter(hold_override_at__isnull=False):
        pre_dose = VitalReading.objects.filter(participant_id=dose.pk, phase="pre_dose")
        readings = [
            r for r in pre_dose.filter(taken_at__lte=dose.hold_override_at).order_by("-taken_at")
            if "pre_dose_hold" in (r.alerts or [])
        ] or list(pre_dose.order_by("-taken_at")[:1])
        if not readings:
            continue
        HoldOverride.objects.create(
            participant_id=dose.pk,
            reading_id=readings[0].pk,
            reason=dose.hold_override_reason,
            overridden_at=dose.hold_override_at,
            overridden_by_id=dose.hold_override_by_id,
        )


def overrides_to_columns(apps, schema_editor):
    DosingParticipant = apps.get_model("courses", "DosingParticipant")
    HoldOverride = apps.get_model("courses", "HoldOverride")
    for override in HoldOverride.objects.order_by("overridden_at"):
        DosingParticipant.objects.filter(pk=override.participant_id).update(
            hold_override_at=override.overridden_at,
            hold_override_by_id=override.overridden_by_id,
            hold_override_reason=override.reason,
        )


def open_alerts_of_doses_in_progress(apps, schema_editor):
    """A dose still in the chair (given, not discharged) whose readings alert gets its in-session
    alerts, so its discharge waits for someone to record what was done. Finished doses keep their
    flags on the readings; their alerts were handled before alerts were records."""
    DosingParticipant = apps.get_model("courses", "DosingParticipant")
    VitalReading = apps.get_model("courses", "VitalReading")
    InSessionAlert = apps.get_model("courses", "InSessionAlert")
    in_progress = DosingParticipant.objects.filter(voided_at__isnull=True, discharged_at__isnull=True)
    for reading in VitalReading.objects.filter(participant__in=in_progress, voided_at__isnull=True):
        codes = [a for a in (reading.alerts or []) if a != "pre_dose_hold"]
        if codes:
            InSessionAlert.objects.create(
                participant_id=reading.participant_id, reading_id=reading.pk, alerts=codes, raised_at=reading.created_at
            )


NEW_TABLES = ["courses_holdoverride", "courses_insessionalert"]


def new_tables_never_deleted(apps, schema_editor):
    # The same trigger as migration 0005's, on the two new kinds of clinical row.
    if schema_editor.connection.vendor == "postgresql":
        for table in NEW_TABLES:
            schema_editor.execute(
                f"CREATE TRIGGER {table}_never_deleted BEFORE DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION kapclinic_refuse_delete();",
                params=None,
            )


def new_tables_deletable(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for table in NEW_TABLES:
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_never_deleted ON {table};", params=None)


class Migration(migrations.Migration):

    dependencies = [
        ('courses', '0007_free_text_limits'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RunPython(checks_immediate, checks_immediate),
        migrations.CreateModel(
            name='HoldOverride',
            fields=[
                ('id', models.UUIDField(default=uuid.uuid4, editable=False, primary_key=True, serialize=False)),
                ('reason', models.TextField(max_length=2000, validators=[courses.models.TextLimit(2000)], verbose_name='clinical reason for dosing despite the hold')),
                ('overridden_at', models.DateTimeField()),
            ],
            options={
                'ordering': ['overridden_at'],
            },
        ),
        migrations.CreateModel(
            name='InSessionAlert',
            fields=[
                ('id', models.UUIDField(default=uuid.uuid4, editable=False, primary_key=True, serialize=False)),
                ('alerts', models.JSONField(default=list)),
                ('raised_at', models.DateTimeField()),
                ('closed_at', models.DateTimeField(blank=True, null=True)),
                ('action', models.CharField(blank=True, choices=[('recheck', 'Rechecked: a new reading was taken'), ('adverse_event', 'Recorded as an adverse event'), ('other', 'Other (described in the note)'), ('reading_voided', 'The reading was voided as entered in error'), ('reading_corrected', 'The reading was corrected and no longer alerts')], max_length=24)),
                ('note', models.TextField(blank=True, max_length=2000, validators=[courses.models.TextLimit(2000)], verbose_name='what was done')),
            ],
            options={
                'ordering': ['raised_at'],
            },
        ),
        migrations.RemoveConstraint(
            model_name='dosingparticipant',
            name='dosing_participant_override_complete',
        ),
        migrations.RemoveConstraint(
            model_name='dosingparticipant',
            name='dosing_participant_discharge_checklist',
        ),
        migrations.RemoveConstraint(
            model_name='medicalevaluation',
            name='medical_evaluation_one_active_per_course',
        ),
        migrations.RemoveConstraint(
            model_name='medicalevaluation',
            name='medical_evaluation_absolute_blocks_clearance',
        ),
        migrations.RemoveConstraint(
            model_name='medicalevaluation',
            name='medical_evaluation_caution_needs_caution_decision',
        ),
        migrations.AddField(
            model_name='adverseevent',
            name='course',
            field=models.ForeignKey(null=True, on_delete=django.db.models.deletion.PROTECT, related_name='adverse_events', to='courses.course'),
        ),
        migrations.AddField(
            model_name='adverseevent',
            name='expectedness',
            field=models.CharField(blank=True, choices=[('expected', 'Expected (listed in the label)'), ('unexpected', 'Unexpected')], max_length=16),
        ),
        migrations.AddField(
            model_name='clinicsettings',
            name='alert_respiratory_rate_below',
            field=models.PositiveSmallIntegerField(default=10),
        ),
        migrations.AddField(
            model_name='clinicsettings',
            name='ceiling_im_mg_per_kg',
            field=models.DecimalField(decimal_places=2, default=Decimal('2.00'), max_digits=5),
        ),
        migrations.AddField(
            model_name='clinicsettings',
            name='ceiling_intranasal_mg',
            field=models.DecimalField(decimal_places=1, default=Decimal('168'), max_digits=6),
        ),
        migrations.AddField(
            model_name='clinicsettings',
            name='ceiling_iv_mg_per_kg',
            field=models.DecimalField(decimal_places=2, default=Decimal('2.00'), max_digits=5),
        ),
        migrations.AddField(
            model_name='clinicsettings',
            name='ceiling_sublingual_mg',
            field=models.DecimalField(decimal_places=1, default=Decimal('900'), max_digits=6),
        ),
        migrations.AddField(
            model_name='clinicsettings',
            name='hold_recheck_minutes',
            field=models.PositiveSmallIntegerField(default=15),
        ),
        migrations.AddField(
            model_name='clinicsettings',
            name='min_dose_interval_hours',
            field=models.PositiveSmallIntegerField(default=24),
        ),
        migrations.AddField(
            model_name='clinicsettings',
            name='minimum_age_years',
            field=models.PositiveSmallIntegerField(default=18),
        ),
        migrations.AddField(
            model_name='clinicsettings',
            name='screen_valid_months',
            field=models.PositiveSmallIntegerField(default=12),
        ),
        migrations.AddField(
            model_name='clinicsettings',
            name='vitals_interval_minutes',
            field=models.PositiveSmallIntegerField(default=15),
        ),
        migrations.AddField(
            model_name='clinicsettings',
            name='weight_max_age_days',
            field=models.PositiveSmallIntegerField(default=30),
        ),
        migrations.AddField(
            model_name='course',
            name='age_exception_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='course',
            name='age_exception_by',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL),
        ),
        migrations.AddField(
            model_name='course',
            name='age_exception_reason',
            field=models.TextField(blank=True, max_length=2000, validators=[courses.models.TextLimit(2000)], verbose_name='minimum-age exception'),
        ),
        migrations.AddField(
            model_name='dosingparticipant',
            name='discharge_exception_reason',
            field=models.TextField(blank=True, max_length=2000, validators=[courses.models.TextLimit(2000)], verbose_name='why discharge is safe despite the alert'),
        ),
        migrations.AddField(
            model_name='dosingparticipant',
            name='protocol_ceiling',
            field=models.DecimalField(decimal_places=2, editable=False, max_digits=6, null=True),
        ),
        migrations.AddField(
            model_name='dosingparticipant',
            name='weight_measurement',
            field=models.ForeignKey(blank=True, editable=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='courses.weightmeasurement'),
        ),
        migrations.AddField(
            model_name='medicalevaluation',
            name='childbearing_potential',
            field=models.CharField(blank=True, choices=[('yes', 'Yes'), ('no', 'No'), ('unknown', 'Unknown')], default='', max_length=8, verbose_name='Childbearing potential (a pregnancy test is recorded before each dose)'),
        ),
        migrations.AddField(
            model_name='medicalevaluation',
            name='superseded_at',
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
        migrations.AddField(
            model_name='medicalevaluation',
            name='superseded_by',
            field=models.ForeignKey(blank=True, editable=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='courses.medicalevaluation'),
        ),
        migrations.AlterField(
            model_name='adverseevent',
            name='participant',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='adverse_events', to='courses.dosingparticipant'),
        ),
        migrations.AlterField(
            model_name='dosingparticipant',
            name='discharge_vitals_acceptable',
            field=models.BooleanField(default=False, verbose_name='vitals within limits at discharge'),
        ),
        migrations.AlterField(
            model_name='dosingparticipant',
            name='pregnancy_test',
            field=models.CharField(blank=True, choices=[('not_applicable', 'Not applicable (no childbearing potential)'), ('negative', 'Negative'), ('positive', 'Positive')], default='', max_length=16, verbose_name='pregnancy test (this dose)'),
        ),
        migrations.AddIndex(
            model_name='dosingparticipant',
            index=models.Index(fields=['course', 'dosed_at'], name='dose_course_dosed_at'),
        ),
        migrations.AddConstraint(
            model_name='adverseevent',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('grade', 5), ('outcome', 'fatal')), models.Q(models.Q(('grade', 5), _negated=True), models.Q(('outcome', 'fatal'), _negated=True)), _connector='OR'), name='adverse_event_grade5_fatal'),
        ),
        migrations.AddConstraint(
            model_name='clinicsettings',
            constraint=models.CheckConstraint(condition=models.Q(('ceiling_iv_mg_per_kg__gte', models.F('max_iv_mg_per_kg'))), name='clinic_settings_iv_ceiling'),
        ),
        migrations.AddConstraint(
            model_name='clinicsettings',
            constraint=models.CheckConstraint(condition=models.Q(('ceiling_im_mg_per_kg__gte', models.F('max_im_mg_per_kg'))), name='clinic_settings_im_ceiling'),
        ),
        migrations.AddConstraint(
            model_name='clinicsettings',
            constraint=models.CheckConstraint(condition=models.Q(('ceiling_intranasal_mg__gte', models.F('max_intranasal_mg'))), name='clinic_settings_in_ceiling'),
        ),
        migrations.AddConstraint(
            model_name='clinicsettings',
            constraint=models.CheckConstraint(condition=models.Q(('ceiling_sublingual_mg__gte', models.F('max_sublingual_mg'))), name='clinic_settings_sl_ceiling'),
        ),
        migrations.AddConstraint(
            model_name='clinicsettings',
            constraint=models.CheckConstraint(condition=models.Q(('hold_recheck_minutes__gte', 5), ('hold_recheck_minutes__lte', 120)), name='clinic_settings_hold_recheck_range'),
        ),
        migrations.AddConstraint(
            model_name='clinicsettings',
            constraint=models.CheckConstraint(condition=models.Q(('alert_respiratory_rate_below__gte', 4), ('alert_respiratory_rate_below__lte', 20)), name='clinic_settings_alert_rr_range'),
        ),
        migrations.AddConstraint(
            model_name='clinicsettings',
            constraint=models.CheckConstraint(condition=models.Q(('vitals_interval_minutes__gte', 5), ('vitals_interval_minutes__lte', 60)), name='clinic_settings_vitals_interval_range'),
        ),
        migrations.AddConstraint(
            model_name='clinicsettings',
            constraint=models.CheckConstraint(condition=models.Q(('monitoring_minutes_esketamine__gte', 120), ('monitoring_minutes_esketamine__lte', 720)), name='clinic_settings_esketamine_monitoring_range'),
        ),
        migrations.AddConstraint(
            model_name='clinicsettings',
            constraint=models.CheckConstraint(condition=models.Q(('monitoring_minutes_other__gte', 40), ('monitoring_minutes_other__lte', 720)), name='clinic_settings_other_monitoring_range'),
        ),
        migrations.AddConstraint(
            model_name='clinicsettings',
            constraint=models.CheckConstraint(condition=models.Q(('min_dose_interval_hours__gte', 1), ('min_dose_interval_hours__lte', 168)), name='clinic_settings_dose_interval_range'),
        ),
        migrations.AddConstraint(
            model_name='clinicsettings',
            constraint=models.CheckConstraint(condition=models.Q(('weight_max_age_days__gte', 1), ('weight_max_age_days__lte', 365)), name='clinic_settings_weight_age_range'),
        ),
        migrations.AddConstraint(
            model_name='clinicsettings',
            constraint=models.CheckConstraint(condition=models.Q(('screen_valid_months__gte', 1), ('screen_valid_months__lte', 24)), name='clinic_settings_screen_valid_range'),
        ),
        migrations.AddConstraint(
            model_name='clinicsettings',
            constraint=models.CheckConstraint(condition=models.Q(('minimum_age_years__gte', 12), ('minimum_age_years__lte', 25)), name='clinic_settings_minimum_age_range'),
        ),
        migrations.AddConstraint(
            model_name='course',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('age_exception_at__isnull', True), ('age_exception_by__isnull', True), ('age_exception_reason', '')), models.Q(('age_exception_at__isnull', False), ('age_exception_by__isnull', False), models.Q(('age_exception_reason', ''), _negated=True)), _connector='OR'), name='course_age_exception_complete'),
        ),
        migrations.AddConstraint(
            model_name='dosingparticipant',
            constraint=models.CheckConstraint(condition=models.Q(('protocol_ceiling__isnull', True), models.Q(('dose_mg_per_kg__lte', models.F('protocol_ceiling')), ('protocol_maximum_unit', 'mg/kg')), models.Q(('dose_mg__lte', models.F('protocol_ceiling')), ('protocol_maximum_unit', 'mg')), _connector='OR'), name='dosing_participant_within_ceiling'),
        ),
        migrations.AddConstraint(
            model_name='dosingparticipant',
            constraint=models.CheckConstraint(condition=models.Q(('discharged_at__isnull', True), models.Q(('discharge_alert_oriented', True), ('discharge_escort_present', True), ('discharge_no_driving_advised', True), ('discharged_by__isnull', False), ('dosed_at__isnull', False), models.Q(('discharge_vitals_acceptable', True), models.Q(('discharge_exception_reason', ''), _negated=True), _connector='OR')), _connector='OR'), name='dosing_participant_discharge_checklist'),
        ),
        migrations.AddConstraint(
            model_name='medicalevaluation',
            constraint=models.UniqueConstraint(condition=models.Q(('superseded_at__isnull', True), ('voided_at__isnull', True)), fields=('course',), name='medical_evaluation_one_current_per_course'),
        ),
        migrations.AddField(
            model_name='holdoverride',
            name='overridden_by',
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL),
        ),
        migrations.AddField(
            model_name='holdoverride',
            name='participant',
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='hold_overrides', to='courses.dosingparticipant'),
        ),
        migrations.AddField(
            model_name='holdoverride',
            name='reading',
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='courses.vitalreading'),
        ),
        migrations.AddField(
            model_name='insessionalert',
            name='adverse_event',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='courses.adverseevent'),
        ),
        migrations.AddField(
            model_name='insessionalert',
            name='closed_by',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL),
        ),
        migrations.AddField(
            model_name='insessionalert',
            name='participant',
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='in_session_alerts', to='courses.dosingparticipant'),
        ),
        migrations.AddField(
            model_name='insessionalert',
            name='reading',
            field=models.OneToOneField(on_delete=django.db.models.deletion.PROTECT, related_name='in_session_alert', to='courses.vitalreading'),
        ),
        migrations.AddConstraint(
            model_name='holdoverride',
            constraint=models.CheckConstraint(condition=models.Q(('reason', ''), _negated=True), name='hold_override_has_reason'),
        ),
        migrations.AddConstraint(
            model_name='holdoverride',
            constraint=models.UniqueConstraint(fields=('participant', 'reading'), name='hold_override_once_per_reading'),
        ),
        migrations.AddIndex(
            model_name='insessionalert',
            index=models.Index(condition=models.Q(('closed_at__isnull', True)), fields=['participant'], name='in_session_alert_open'),
        ),
        migrations.AddConstraint(
            model_name='insessionalert',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('action', ''), ('closed_at__isnull', True), ('closed_by__isnull', True)), models.Q(('closed_at__isnull', False), models.Q(('action', ''), _negated=True)), _connector='OR'), name='in_session_alert_closed_has_action'),
        ),
        migrations.AddConstraint(
            model_name='insessionalert',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('action', 'adverse_event'), _negated=True), ('adverse_event__isnull', False), _connector='OR'), name='in_session_alert_event_named'),
        ),
        migrations.AddConstraint(
            model_name='insessionalert',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('action', 'other'), _negated=True), models.Q(('note', ''), _negated=True), _connector='OR'), name='in_session_alert_other_has_note'),
        ),
        migrations.AlterField(
            model_name='medicalevaluation',
            name='caution_breastfeeding',
            field=models.CharField(blank=True, choices=[('yes', 'Yes'), ('no', 'No'), ('unknown', 'Unknown')], default='', max_length=8),
        ),
        migrations.AlterField(
            model_name='medicalevaluation',
            name='caution_cardio_cerebrovascular',
            field=models.CharField(blank=True, choices=[('yes', 'Yes'), ('no', 'No'), ('unknown', 'Unknown')], default='', max_length=8),
        ),
        migrations.AlterField(
            model_name='medicalevaluation',
            name='caution_interacting_medications',
            field=models.CharField(blank=True, choices=[('yes', 'Yes'), ('no', 'No'), ('unknown', 'Unknown')], default='', max_length=8),
        ),
        migrations.AlterField(
            model_name='medicalevaluation',
            name='caution_raised_icp_or_iop',
            field=models.CharField(blank=True, choices=[('yes', 'Yes'), ('no', 'No'), ('unknown', 'Unknown')], default='', max_length=8),
        ),
        migrations.AlterField(
            model_name='medicalevaluation',
            name='caution_recent_suicidality',
            field=models.CharField(blank=True, choices=[('yes', 'Yes'), ('no', 'No'), ('unknown', 'Unknown')], default='', max_length=8),
        ),
        migrations.AlterField(
            model_name='medicalevaluation',
            name='caution_substance_use_history',
            field=models.CharField(blank=True, choices=[('yes', 'Yes'), ('no', 'No'), ('unknown', 'Unknown')], default='', max_length=8),
        ),
        migrations.AlterField(
            model_name='medicalevaluation',
            name='caution_uncontrolled_hypertension',
            field=models.CharField(blank=True, choices=[('yes', 'Yes'), ('no', 'No'), ('unknown', 'Unknown')], default='', max_length=8),
        ),
        migrations.AlterField(
            model_name='medicalevaluation',
            name='ci_aneurysmal_vascular_disease',
            field=models.CharField(blank=True, choices=[('yes', 'Yes'), ('no', 'No'), ('unknown', 'Unknown')], default='', max_length=8),
        ),
        migrations.AlterField(
            model_name='medicalevaluation',
            name='ci_intracerebral_haemorrhage',
            field=models.CharField(blank=True, choices=[('yes', 'Yes'), ('no', 'No'), ('unknown', 'Unknown')], default='', max_length=8),
        ),
        migrations.AlterField(
            model_name='medicalevaluation',
            name='ci_ketamine_hypersensitivity',
            field=models.CharField(blank=True, choices=[('yes', 'Yes'), ('no', 'No'), ('unknown', 'Unknown')], default='', max_length=8),
        ),
        migrations.AlterField(
            model_name='medicalevaluation',
            name='ci_pregnancy',
            field=models.CharField(blank=True, choices=[('yes', 'Yes'), ('no', 'No'), ('unknown', 'Unknown')], default='', max_length=8),
        ),
        migrations.AlterField(
            model_name='medicalevaluation',
            name='ci_psychosis_or_mania',
            field=models.CharField(blank=True, choices=[('yes', 'Yes'), ('no', 'No'), ('unknown', 'Unknown')], default='', max_length=8),
        ),
        migrations.RunPython(screen_answers_forward, screen_answers_backward),
        migrations.AddConstraint(
            model_name='medicalevaluation',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('decision__in', ['cleared', 'cleared_with_cautions']), _negated=True), models.Q(('ci_aneurysmal_vascular_disease', 'no'), ('ci_intracerebral_haemorrhage', 'no'), ('ci_ketamine_hypersensitivity', 'no'), ('ci_pregnancy', 'no'), ('ci_psychosis_or_mania', 'no')), _connector='OR'), name='medical_evaluation_cleared_absolute_no'),
        ),
        migrations.AddConstraint(
            model_name='medicalevaluation',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('decision', 'cleared'), _negated=True), models.Q(('caution_breastfeeding', 'no'), ('caution_cardio_cerebrovascular', 'no'), ('caution_interacting_medications', 'no'), ('caution_raised_icp_or_iop', 'no'), ('caution_recent_suicidality', 'no'), ('caution_substance_use_history', 'no'), ('caution_uncontrolled_hypertension', 'no')), _connector='OR'), name='medical_evaluation_cleared_cautions_no'),
        ),
        migrations.AddConstraint(
            model_name='medicalevaluation',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('decision__in', ['cleared', 'cleared_with_cautions']), _negated=True), models.Q(('caution_uncontrolled_hypertension__in', ['yes', 'no']), ('caution_raised_icp_or_iop__in', ['yes', 'no']), ('caution_cardio_cerebrovascular__in', ['yes', 'no']), ('caution_substance_use_history__in', ['yes', 'no']), ('caution_breastfeeding__in', ['yes', 'no']), ('caution_recent_suicidality__in', ['yes', 'no']), ('caution_interacting_medications__in', ['yes', 'no'])), _connector='OR'), name='medical_evaluation_cleared_answered'),
        ),
        migrations.RunPython(events_belong_to_courses, migrations.RunPython.noop),
        migrations.AlterField(
            model_name='adverseevent',
            name='course',
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='adverse_events', to='courses.course'),
        ),
        migrations.RunPython(overrides_to_rows, overrides_to_columns),
        migrations.RemoveField(
            model_name='dosingparticipant',
            name='hold_override_at',
        ),
        migrations.RemoveField(
            model_name='dosingparticipant',
            name='hold_override_by',
        ),
        migrations.RemoveField(
            model_name='dosingparticipant',
            name='hold_override_reason',
        ),
        migrations.RunPython(open_alerts_of_doses_in_progress, migrations.RunPython.noop),
        migrations.RunPython(new_tables_never_deleted, new_tables_deletable),
    ]
