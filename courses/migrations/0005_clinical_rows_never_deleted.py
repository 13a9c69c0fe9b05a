"""On PostgreSQL, rows of the clinical record refuse DELETE from any client, not only the app.

The app voids, cancels or supersedes; a DELETE can only come from a hand-typed query or a bug,
and it should fail loudly. (Team membership tables are left out: changing a care team removes
rows there by design. TRUNCATE, which a test database's flush uses, is not row-level.)"""

from django.db import migrations

TABLES = [
    "courses_patient",
    "courses_weightmeasurement",
    "courses_course",
    "courses_coursestatuschange",
    "courses_medicalevaluation",
    "courses_psychiatricevaluation",
    "courses_preparatorysession",
    "courses_integrationsession",
    "courses_dosingsession",
    "courses_dosingparticipant",
    "courses_vitalreading",
    "courses_adverseevent",
    "courses_amendment",
]

FUNCTION = """
CREATE OR REPLACE FUNCTION kapclinic_refuse_delete() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'rows of % are never deleted: void or cancel them instead', TG_TABLE_NAME;
END;
$$ LANGUAGE plpgsql;
"""


def trigger_sql(table: str) -> str:
    return (
        f"CREATE TRIGGER {table}_never_deleted BEFORE DELETE ON {table} "
        "FOR EACH ROW EXECUTE FUNCTION kapclinic_refuse_delete();"
    )


def drop_sql(table: str) -> str:
    return f"DROP TRIGGER IF EXISTS {table}_never_deleted ON {table};"


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        # params=None: sent as written, so psycopg does not read the RAISE format's '%'.
        schema_editor.execute(FUNCTION, params=None)
        for table in TABLES:
            schema_editor.execute(trigger_sql(table), params=None)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for table in TABLES:
            schema_editor.execute(drop_sql(table), params=None)


class Migration(migrations.Migration):
    dependencies = [("courses", "0004_record_version")]
    operations = [migrations.RunPython(forward, backward)]
