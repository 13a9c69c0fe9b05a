"""courses.DosingParticipant is now courses.Dose (courses 0015), so the amendments of a dose are
written with record_type 'dose' (its model name). The deferred trigger of its table, which refuses a
change of a signed dose without an amendment of that record_type (0003), is made again with 'dose';
backward, with 'dosingparticipant'. The table keeps its name. On SQLite this does nothing."""

from django.db import migrations

TABLE = "courses_dosingparticipant"


def _recreate(record_type: str):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {TABLE}_signed_amended ON {TABLE};", params=None)
        # As in 0003: deferred to the commit, since the service saves the record, then writes its Amendment.
        schema_editor.execute(
            f"CREATE CONSTRAINT TRIGGER {TABLE}_signed_amended AFTER UPDATE ON {TABLE} "
            "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW "
            f"EXECUTE FUNCTION kapclinic_signed_changes_amended('{record_type}');",
            params=None,
        )

    return run


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0003_least_privilege_triggers"),
        ("courses", "0015_dose"),
    ]
    operations = [migrations.RunPython(_recreate("dose"), _recreate("dosingparticipant"))]
