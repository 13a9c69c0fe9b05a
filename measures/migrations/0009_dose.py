"""One name per thing (issue 14): an administration's `participant` is now `dose` (courses.Dose).
State only: the column stays participant_id, and the constraints that name the field keep their
names and SQL; they are removed and added again in the state alone."""

import django.db.models.deletion
from django.db import migrations, models

NAMING_THE_FIELD = [
    "administration_one_per_course_timepoint",
    "administration_participant_only_pre_dose",
    "administration_one_per_dose",
]


class Migration(migrations.Migration):
    dependencies = [
        ("courses", "0015_dose"),
        ("measures", "0008_message_retry_later"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                *[migrations.RemoveConstraint(model_name="administration", name=name) for name in NAMING_THE_FIELD],
                migrations.RenameField(model_name="administration", old_name="participant", new_name="dose"),
                migrations.AlterField(
                    model_name="administration",
                    name="dose",
                    field=models.ForeignKey(
                        blank=True,
                        db_column="participant_id",
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="administrations",
                        to="courses.dose",
                    ),
                ),
                migrations.AddConstraint(
                    model_name="administration",
                    constraint=models.UniqueConstraint(
                        condition=models.Q(("dose__isnull", True), models.Q(("timepoint", "ad_hoc"), _negated=True)),
                        fields=("course", "instrument", "timepoint"),
                        name="administration_one_per_course_timepoint",
                    ),
                ),
                migrations.AddConstraint(
                    model_name="administration",
                    constraint=models.UniqueConstraint(
                        condition=models.Q(("dose__isnull", False)),
                        fields=("dose", "instrument"),
                        name="administration_one_per_dose",
                    ),
                ),
                migrations.AddConstraint(
                    model_name="administration",
                    constraint=models.CheckConstraint(
                        condition=models.Q(("dose__isnull", True), ("timepoint", "pre_dose"), _connector="OR"),
                        name="administration_participant_only_pre_dose",
                    ),
                ),
            ]
        )
    ]
