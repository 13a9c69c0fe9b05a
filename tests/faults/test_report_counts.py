"""The outcome report's count by a real Celery worker on Redis: the lead's page asks for it, a worker
process counts it and the page shows it; with Redis gone, the page counts it itself within a bounded
time, and shows the record as it is now."""

import time

import pytest

from courses.models import ClinicSettings
from measures.models import MeasureSettings
from reports import data_version
from reports.models import OutcomeSettings, ReportCount
from tests.reports.api_support import COHORT, build_cohort, build_course

pytestmark = pytest.mark.django_db(transaction=True)

# Publishing gives up after BROKER_TIMEOUT_SECONDS (2) and two quick retries; the count of three
# courses takes well under a second.
REQUEST_BOUND_SECONDS = 10


def test_a_worker_counts_the_page_and_without_redis_the_page_counts_itself(
    web_on_redis, workers, redis_server, client, lead, therapist, provider, settings
):
    ClinicSettings.load()
    MeasureSettings.load()
    OutcomeSettings.load()
    build_cohort(therapist=therapist, provider=provider, specs=COHORT[:2])
    worker = workers().wait_ready()
    settings.REPORT_WAIT_SECONDS = 30  # the worker process is starting its Django: give it time
    client.force_login(lead)

    text = client.get("/reports/outcomes/").content.decode()
    assert "2 courses selected" in text and "Counting" not in text, worker.log()
    assert "reports.tasks.count_report" in worker.log() and "'counted'" in worker.log()
    row = ReportCount.objects.get()
    assert row.data_version == data_version.current()

    redis_server.kill()
    build_course(COHORT[2], n=2, therapist=therapist, provider=provider)
    started = time.monotonic()
    text = client.get("/reports/outcomes/").content.decode()
    took = time.monotonic() - started
    assert "3 courses selected" in text and "the record has changed since" not in text
    assert took < REQUEST_BOUND_SECONDS
    row.refresh_from_db()
    assert (row.data_version, row.counting_version) == (data_version.current(), None)
