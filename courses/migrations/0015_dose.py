"""One name per thing (issue 14): DosingParticipant is now Dose, and each `participant` foreign key
is `dose`. The database does not change: the table stays courses_dosingparticipant, the columns stay
participant_id, and every constraint and index keeps its name and its SQL. So this is state only;
those whose definition names the field are removed and added again in the state alone."""

import django.db.models.deletion
from django.db import migrations, models

FOREIGN_KEYS = {
    # model: (related_name, null)
    "holdoverride": ("hold_overrides", False),
    "vitalreading": ("vitals", False),
    "insessionalert": ("in_session_alerts", False),
    "adverseevent": ("adverse_events", True),
}


def _dose_key(related_name: str, null: bool):
    return models.ForeignKey(
        on_delete=django.db.models.deletion.PROTECT,
        related_name=related_name,
        to="courses.dose",
        db_column="participant_id",
        **({"null": True, "blank": True} if null else {}),
    )


state_operations = [
    # Definitions that name the field go first, and come back under the new name at the end.
    migrations.RemoveConstraint(model_name="holdoverride", name="hold_override_once_per_reading"),
    migrations.RemoveIndex(model_name="insessionalert", name="in_session_alert_open"),
    migrations.RenameModel(old_name="DosingParticipant", new_name="Dose"),
    migrations.AlterModelTable(name="dose", table="courses_dosingparticipant"),
    migrations.AlterModelOptions(
        name="dose",
        options={"ordering": ["session__starts_at"], "verbose_name": "dose", "verbose_name_plural": "doses"},
    ),
    migrations.AlterField(
        model_name="dose",
        name="session",
        field=models.ForeignKey(
            on_delete=django.db.models.deletion.PROTECT, related_name="doses", to="courses.dosingsession"
        ),
    ),
]
for model_name, (related_name, null) in FOREIGN_KEYS.items():
    state_operations += [
        migrations.RenameField(model_name=model_name, old_name="participant", new_name="dose"),
        migrations.AlterField(model_name=model_name, name="dose", field=_dose_key(related_name, null)),
    ]
state_operations += [
    migrations.AddConstraint(
        model_name="holdoverride",
        constraint=models.UniqueConstraint(fields=("dose", "reading"), name="hold_override_once_per_reading"),
    ),
    migrations.AddIndex(
        model_name="insessionalert",
        index=models.Index(
            condition=models.Q(("closed_at__isnull", True)), fields=["dose"], name="in_session_alert_open"
        ),
    ),
]


def _content_type_renamed(old: str, new: str):
    """What a plain RenameModel does through the contenttypes app, which does not see one inside
    SeparateDatabaseAndState: the content type follows the model (the admin's log points at it)."""

    def run(apps, schema_editor):
        content_types = apps.get_model("contenttypes", "ContentType").objects.db_manager(schema_editor.connection.alias)
        if not content_types.filter(app_label="courses", model=new).exists():
            content_types.filter(app_label="courses", model=old).update(model=new)

    return run


class Migration(migrations.Migration):
    dependencies = [
        ("courses", "0014_names_printable_mrn_any_case"),
        # After every migration that names courses.dosingparticipant (measures 0001 does).
        ("measures", "0008_message_retry_later"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(state_operations=state_operations),
        migrations.RunPython(
            _content_type_renamed("dosingparticipant", "dose"), _content_type_renamed("dose", "dosingparticipant")
        ),
    ]
