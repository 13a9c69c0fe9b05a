"""On PostgreSQL, what the application's own login must not be able to do to the record, refused by
the database itself (issue 13; the roles and grants are accounts.db_roles, docs/operations.md
"Database roles"):

- TRUNCATE of the audit trail and of every never-deleted table: a BEFORE TRUNCATE trigger, since
  TRUNCATE passes the row-level DELETE triggers of courses 0002/0005/0008 and measures 0003.
- DELETE of the link rows between records (an integration session's courses, a dosing session's
  facilitators): only ever added, at the session's creation. A course's therapists are left out:
  changing a care team removes rows there by design.
- A change of a signed record's content without an Amendment: an UPDATE of a signed row that
  changes anything but its bookkeeping is refused at commit unless the same transaction wrote the
  Amendment that keeps the old and new values (courses.services.record_amend does both). Vital
  readings, always corrected by amendment, are held to it whether signed or not.

These live in the accounts app because they span courses and measures, and the database roles
they back are accounts' business. On SQLite this migration does nothing.
"""

from importlib import import_module

from django.db import migrations

_courses_0005 = import_module("courses.migrations.0005_clinical_rows_never_deleted")
_courses_0008 = import_module("courses.migrations.0008_bedside_safety")
_measures_0003 = import_module("measures.migrations.0003_rows_never_deleted")

AUDIT_TABLE = "courses_auditevent"
LINK_TABLES = ["courses_integrationsession_courses", "courses_dosingsession_facilitators"]
# Every table whose rows are never deleted; each refuses TRUNCATE too.
PROTECTED_TABLES = [
    AUDIT_TABLE,
    *_courses_0005.TABLES,
    *_courses_0008.NEW_TABLES,
    *_measures_0003.TABLES,
    *LINK_TABLES,
]
# The tables of signed records (courses.models.SignableRecord), with their Amendment.record_type.
SIGNED_TABLES = {
    "courses_medicalevaluation": "medicalevaluation",
    "courses_psychiatricevaluation": "psychiatricevaluation",
    "courses_preparatorysession": "preparatorysession",
    "courses_integrationsession": "integrationsession",
    "courses_dosingsession": "dosingsession",
    "courses_dosingparticipant": "dosingparticipant",
}
# Corrected only by amendment even before anything above them is signed (courses.services
# ALWAYS_AMENDED): a high reading rewritten in place would lift a hold without a trace.
ALWAYS_AMENDED_TABLES = {"courses_vitalreading": "vitalreading"}

FUNCTIONS = """
CREATE OR REPLACE FUNCTION kapclinic_refuse_truncate() RETURNS trigger AS $$
BEGIN
    -- A test database's flush empties every table between tests (TRUNCATE): its connections set
    -- kapclinic.allow_truncate (tests/conftest.py). Only a role that owns the table, and so could
    -- drop this trigger anyway, is let through by it; the application's role is not.
    IF current_setting('kapclinic.allow_truncate', true) = 'on'
       AND pg_has_role(current_user, (SELECT relowner FROM pg_class WHERE oid = TG_RELID), 'MEMBER') THEN
        RETURN NULL;
    END IF;
    RAISE EXCEPTION 'rows of % are never deleted: TRUNCATE refused', TG_TABLE_NAME;
END;
$$ LANGUAGE plpgsql;

-- Whether a row's xmin is the current transaction's own (its top-level id or one of its
-- subtransactions', as a Django savepoint makes): a plain xid has no epoch, so it is placed at or
-- after the top-level id, and pg_xact_status says "in progress" only for ours among visible rows.
CREATE OR REPLACE FUNCTION kapclinic_written_by_this_transaction(row_xmin xid) RETURNS boolean AS $$
DECLARE
    top bigint := pg_current_xact_id()::text::bigint;
    candidate bigint := top + ((row_xmin::text::bigint - top % 4294967296 + 4294967296) % 4294967296);
BEGIN
    RETURN pg_xact_status(candidate::text::xid8) = 'in progress';
EXCEPTION WHEN invalid_parameter_value THEN
    -- "in the future": a row older than this transaction, so not written by it.
    RETURN false;
END;
$$ LANGUAGE plpgsql;

-- A signed record changes only by an amendment. Its bookkeeping may change: the version, and the
-- voiding and superseding columns once each (set, never changed again or cleared).
CREATE OR REPLACE FUNCTION kapclinic_signed_changes_amended() RETURNS trigger AS $$
DECLARE
    old_row jsonb := to_jsonb(OLD);
    new_row jsonb := to_jsonb(NEW);
    set_once CONSTANT text[] := ARRAY['voided_at', 'voided_by_id', 'void_reason', 'superseded_at', 'superseded_by_id'];
    changed text;
BEGIN
    -- TG_ARGV[1] = 'always': a record corrected only by amendment, signed or not (vital readings).
    IF TG_NARGS < 2 AND old_row ->> 'signed_at' IS NULL THEN
        RETURN NULL;
    END IF;
    SELECT string_agg(n.key, ', ' ORDER BY n.key) INTO changed
    FROM jsonb_each(new_row) AS n
    WHERE n.value IS DISTINCT FROM old_row -> n.key
      AND n.key <> 'version'
      AND NOT (n.key = ANY (set_once) AND old_row -> n.key IN ('null'::jsonb, '""'::jsonb));
    IF changed IS NULL THEN
        RETURN NULL;
    END IF;
    IF EXISTS (
        SELECT 1 FROM public.courses_amendment a
        WHERE a.record_type = TG_ARGV[0] AND a.record_id = NEW.id
          AND kapclinic_written_by_this_transaction(a.xmin)
    ) THEN
        RETURN NULL;
    END IF;
    RAISE EXCEPTION 'this % is %: % cannot be changed; a correction is an amendment, kept beside the record',
        TG_ARGV[0], CASE WHEN TG_NARGS < 2 THEN 'signed' ELSE 'corrected only by amendment' END, changed;
END;
$$ LANGUAGE plpgsql;
"""

# A trigger function resolves names through the caller's search_path, where a session's temporary
# tables come first: a login could CREATE TEMP TABLE courses_amendment and "amend" into it. Each
# function searches pg_catalog and public only, with pg_temp last (PostgreSQL's advice for
# functions run on another's behalf), and names the amendment table with its schema as well.
PIN_SEARCH_PATH = """
ALTER FUNCTION kapclinic_refuse_truncate() SET search_path = pg_catalog, public, pg_temp;
ALTER FUNCTION kapclinic_written_by_this_transaction(xid) SET search_path = pg_catalog, public, pg_temp;
ALTER FUNCTION kapclinic_signed_changes_amended() SET search_path = pg_catalog, public, pg_temp;
"""

DROP_FUNCTIONS = """
DROP FUNCTION IF EXISTS kapclinic_signed_changes_amended();
DROP FUNCTION IF EXISTS kapclinic_written_by_this_transaction(xid);
DROP FUNCTION IF EXISTS kapclinic_refuse_truncate();
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    # params=None: sent as written, so psycopg does not read the RAISE formats' '%' as placeholders.
    schema_editor.execute(FUNCTIONS, params=None)
    schema_editor.execute(PIN_SEARCH_PATH, params=None)
    for table in PROTECTED_TABLES:
        schema_editor.execute(
            f"CREATE TRIGGER {table}_never_truncated BEFORE TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION kapclinic_refuse_truncate();",
            params=None,
        )
    for table in LINK_TABLES:
        schema_editor.execute(_courses_0005.trigger_sql(table), params=None)
    triggers = [(table, f"'{kind}'") for table, kind in SIGNED_TABLES.items()]
    triggers += [(table, f"'{kind}', 'always'") for table, kind in ALWAYS_AMENDED_TABLES.items()]
    for table, arguments in triggers:
        # Deferred to the commit: the service saves the record, then writes its Amendment.
        schema_editor.execute(
            f"CREATE CONSTRAINT TRIGGER {table}_signed_amended AFTER UPDATE ON {table} "
            "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW "
            f"EXECUTE FUNCTION kapclinic_signed_changes_amended({arguments});",
            params=None,
        )


def backward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in [*SIGNED_TABLES, *ALWAYS_AMENDED_TABLES]:
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_signed_amended ON {table};", params=None)
    for table in LINK_TABLES:
        schema_editor.execute(_courses_0005.drop_sql(table), params=None)
    for table in PROTECTED_TABLES:
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_never_truncated ON {table};", params=None)
    schema_editor.execute(DROP_FUNCTIONS, params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_api_token"),
        ("courses", "0013_dates_of_events"),
        ("measures", "0007_one_definition_per_setting"),
        ("reports", "0003_one_definition_per_setting"),
    ]
    operations = [migrations.RunPython(forward, backward)]
