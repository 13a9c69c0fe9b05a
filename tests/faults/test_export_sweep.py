"""Beat's sweep for exports no worker is making (the broker was down when they were requested,
or the worker died mid-run). Runs on SQLite too; the real outage is in test_redis_down.py."""

import datetime as dt

from reports import services
from reports.models import ExportKind, ExportStatus, ReportExport
from reports.tasks import queue_waiting_exports
from tests.support import NOW


def export(lead, status=ExportStatus.QUEUED, requested=NOW, started=None):
    return ReportExport.objects.create(
        kind=ExportKind.PRACTICE_CSV,
        requested_by=lead,
        requested_at=requested,
        status=status,
        started_at=started,
        content=b"x" if status == ExportStatus.DONE else None,
    )


def test_the_sweep_names_exports_waiting_with_no_worker_on_them(lead, clock):
    stranded = export(lead, requested=NOW - dt.timedelta(minutes=2))
    export(lead)  # just requested: its own task is probably on its way
    abandoned = export(lead, ExportStatus.RUNNING, started=NOW - services.STALE_RUN - dt.timedelta(seconds=1))
    export(lead, ExportStatus.RUNNING, started=NOW - dt.timedelta(minutes=1))
    export(lead, ExportStatus.DONE, requested=NOW - dt.timedelta(hours=1))
    assert set(services.exports_waiting()) == {stranded.pk, abandoned.pk}


def test_the_sweep_task_makes_a_stranded_export_once(lead, clock):
    stranded = export(lead, requested=NOW - dt.timedelta(minutes=5))
    assert queue_waiting_exports() == 1  # eager in tests: the export is made inline
    stranded.refresh_from_db()
    assert stranded.status == ExportStatus.DONE and stranded.content
    assert queue_waiting_exports() == 0
    assert services.export_run(export_id=stranded.pk) == "skipped"
