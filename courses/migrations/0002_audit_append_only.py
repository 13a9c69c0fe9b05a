"""On PostgreSQL, the audit trail refuses UPDATE and DELETE from any client, not only the app."""

from django.db import migrations

FORWARD = """
CREATE OR REPLACE FUNCTION courses_auditevent_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'the audit trail is append-only (% refused)', TG_OP;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER courses_auditevent_append_only
    BEFORE UPDATE OR DELETE ON courses_auditevent
    FOR EACH ROW EXECUTE FUNCTION courses_auditevent_append_only();
"""
BACKWARD = """
DROP TRIGGER IF EXISTS courses_auditevent_append_only ON courses_auditevent;
DROP FUNCTION IF EXISTS courses_auditevent_append_only();
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        # params=None: the SQL is sent as written; with params psycopg reads the '%' in the
        # RAISE format string as a placeholder and refuses it.
        schema_editor.execute(FORWARD, params=None)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARD, params=None)


class Migration(migrations.Migration):
    dependencies = [("courses", "0001_initial")]
    operations = [migrations.RunPython(forward, backward)]
