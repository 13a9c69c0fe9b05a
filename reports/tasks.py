"""Celery tasks of the reports: make an export file, by id, once."""

from datetime import timedelta

from celery import shared_task
from django.db import DatabaseError

from reports import services


@shared_task(acks_late=True, autoretry_for=(DatabaseError,), retry_backoff=5, max_retries=5)
def run_export(export_id: str) -> str:
    return services.export_run(export_id=export_id)


@shared_task(acks_late=True)
def queue_waiting_exports(older_than_seconds: int = 60) -> int:
    """Beat's safety net for exports requested while the broker was down (docs/faults.md)."""
    waiting = services.exports_waiting(older_than=timedelta(seconds=older_than_seconds))
    for export_id in waiting:
        run_export.delay(str(export_id))
    return len(waiting)


@shared_task(acks_late=True, autoretry_for=(DatabaseError,), retry_backoff=5, max_retries=3)
def count_report(key: str) -> str:
    """Count the practice report for the page and the API (reports/services.py `report_counted`)."""
    return services.report_count_run(key=key)
