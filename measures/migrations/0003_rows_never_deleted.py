"""On PostgreSQL, questionnaires, answers, safety alerts and messages refuse DELETE from any
client (the function comes from courses 0005)."""

from importlib import import_module

from django.db import migrations

TABLES = ["measures_administration", "measures_response", "measures_safetyalert", "measures_outboundmessage"]
_courses = import_module("courses.migrations.0005_clinical_rows_never_deleted")


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for table in TABLES:
            schema_editor.execute(_courses.trigger_sql(table), params=None)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for table in TABLES:
            schema_editor.execute(_courses.drop_sql(table), params=None)


class Migration(migrations.Migration):
    dependencies = [("measures", "0002_new_link_messages"), ("courses", "0005_clinical_rows_never_deleted")]
    operations = [migrations.RunPython(forward, backward)]
