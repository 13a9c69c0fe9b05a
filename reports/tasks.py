"""Celery tasks of the reports: make an export file, by id, once."""

from celery import shared_task
from django.db import DatabaseError

from reports import services


@shared_task(acks_late=True, autoretry_for=(DatabaseError,), retry_backoff=5, max_retries=5)
def run_export(export_id: str) -> str:
    return services.export_run(export_id=export_id)
