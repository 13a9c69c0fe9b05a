"""Writes of the reports: outcome definitions, and export jobs that Celery workers run.

An export is requested by a web or API call (which returns at once), made by a worker
(`reports.tasks.run_export`, which claims it with a conditional update so a redelivered task
does not make it twice), and downloaded later; every request and download is audited.
"""

import hashlib
import json
import logging
import pickle
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path

from django.conf import settings
from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accounts.models import Role, User
from courses.audit import audit
from courses.models import AuditAction, ClinicSettings, Course
from courses.selectors import courses_for
from kernel import clock
from kernel.models import settings_update
from measures.models import MeasureSettings
from reports import data_version
from reports.cohort import ReportFilters
from reports.models import Audience, ExportKind, ExportStatus, OutcomeSettings, ReportCount, ReportExport
from reports.report import PracticeReport, build_practice_report

logger = logging.getLogger(__name__)

# Longer than any export takes (the 10,000-course PDF takes about 10 s).
STALE_RUN = timedelta(minutes=15)

OUTCOME_SETTINGS_FIELDS = (
    "response_reduction_pct",
    "partial_reduction_pct",
    "pcl5_meaningful_drop",
    "phq9_remission_below",
    "gad7_remission_below",
    "pcl5_remission_below",
    "phq9_eligible_from",
    "gad7_eligible_from",
    "suppression_threshold",
)
# Definitions the report once stored beside the schedule's, now read from the schedule alone:
# the old name → the measure schedule's setting, so a request with the old name is told where.
MOVED_TO_SCHEDULE = {
    "baseline_days": "baseline_days_before_first_dose",
    "end_first_day": "end_of_course_first_day",
    "end_last_day": "end_of_course_last_day",
    "month_1_day": "month_1_day",
    "month_1_tolerance": "month_1_tolerance",
    "month_3_day": "month_3_day",
    "month_3_tolerance": "month_3_tolerance",
    "month_6_day": "month_6_day",
    "month_6_tolerance": "month_6_tolerance",
    "pcl5_eligible_from": "pcl5_cutoff",
}


def moved_to_schedule(names) -> dict[str, str]:
    """For each timing setting among `names` (its old name here, or the schedule's own name):
    where to change it."""
    where = MOVED_TO_SCHEDULE | {new: new for new in MOVED_TO_SCHEDULE.values()}
    return {
        name: (
            f"The questionnaires and the report share this definition: change `{where[name]}` "
            "in the measure schedule (Clinic settings → Measure schedule, or PATCH /api/measure-settings/)."
        )
        for name in names
        if name in where
    }


# Constraint name → the field a person should change, so a broken rule names its field.
_CONSTRAINT_FIELDS = {
    "outcome_settings_partial_below_response": (
        "partial_reduction_pct",
        "Partial response must start below the response threshold, which is at most 100%.",
    ),
    "outcome_settings_suppression_range": ("suppression_threshold", "Choose a threshold from 1 to 100."),
}


@transaction.atomic
def outcome_settings_update(*, by: User, changes: Mapping[str, object], now: datetime | None = None) -> OutcomeSettings:
    """`changes`: definition → new value, of OUTCOME_SETTINGS_FIELDS (another name is refused,
    naming it; a timing definition's name says where it now lives: the measure schedule)."""
    now = clock.now(now)
    if by.role != Role.PRACTICE_LEAD:
        # What counts as a response, and what a shared file hides, are clinical decisions: a
        # superuser without the lead's role (an administrator) cannot make them, as for the schedule.
        raise PermissionDenied("Only a practice lead can change the outcome definitions.")
    if moved := moved_to_schedule(changes):
        raise ValidationError(moved)
    unknown = sorted(set(changes) - set(OUTCOME_SETTINGS_FIELDS))
    if unknown:
        raise ValidationError({NON_FIELD_ERRORS: f"Unknown setting(s): {', '.join(unknown)}."})
    row = OutcomeSettings.load_for_update()
    settings_update(
        row,
        dict(changes),
        by=by,
        now=now,
        save=_save_outcome_settings,
        audit=lambda changes: audit(
            actor=by,
            action=AuditAction.UPDATE,
            record_type="outcome definitions",
            detail="; ".join(f"{k}: {a} → {b}" for k, (a, b) in changes.items()),
            at=now,
        ),
    )
    return row


def _save_outcome_settings(row: OutcomeSettings) -> None:
    try:
        row.full_clean()
    except ValidationError as exc:
        errors = {}
        for key, messages in exc.message_dict.items():
            if key != NON_FIELD_ERRORS:
                errors[key] = messages
                continue
            for message in messages:
                field, text = next(
                    (v for name, v in _CONSTRAINT_FIELDS.items() if name in message), (NON_FIELD_ERRORS, message)
                )
                errors.setdefault(field, []).append(text)
        raise ValidationError(errors) from None
    row.save()


def _can_export_practice(by: User) -> None:
    if not by.is_practice_lead:
        raise PermissionDenied("Only a practice lead exports the practice outcome report.")


@transaction.atomic
def export_request(
    *,
    by: User,
    kind: str,
    filters: ReportFilters | None = None,
    course: Course | None = None,
    audience: str | None = None,
    now: datetime | None = None,
) -> ReportExport:
    """Queue an export; the caller gets the row at once and follows its progress.

    A practice file is for one audience: inside the clinic (exact) or to share outside
    (de-identified, small cells hidden); unsaid, it is the outside one, the side that cannot leak.
    A progress report names its patient, so it is inside only."""
    now = clock.now(now)
    if kind not in ExportKind.values:
        raise ValidationError({"kind": f"Choose one of: {', '.join(ExportKind.values)}."})
    if audience is not None and audience not in Audience.values:
        raise ValidationError({"audience": f"Choose one of: {', '.join(Audience.values)}."})
    if kind == ExportKind.PATIENT_PDF:
        if audience == Audience.OUTSIDE:
            raise ValidationError(
                {"audience": "A progress report names the patient: it is for inside the clinic only (audience inside)."}
            )
        audience = Audience.INSIDE
        if course is None:
            raise ValidationError({"course": "Name the course of the progress report."})
        if not courses_for(by).filter(pk=course.pk).exists():
            raise PermissionDenied("This course is not on your caseload.")
        threshold = None
    else:
        _can_export_practice(by)
        if kind == ExportKind.PRACTICE_LISTS and audience != Audience.INSIDE:
            # Refused here, where the lead sees it at once, not when a worker comes to the file.
            raise ValidationError(
                {
                    "audience": "The complete lists of serious adverse events and Kaplan–Meier steps are for "
                    "inside the clinic only: choose inside the clinic (audience inside)."
                }
            )
        audience = audience or Audience.OUTSIDE
        threshold = OutcomeSettings.load().suppression_threshold
    export = ReportExport.objects.create(
        kind=kind,
        audience=audience,
        suppression_threshold=threshold,
        filters=(filters or ReportFilters()).as_dict(),
        course=course if kind == ExportKind.PATIENT_PDF else None,
        requested_by=by,
        requested_at=now,
    )
    audit(
        actor=by,
        action=AuditAction.EXPORT,
        patient=course.patient if course is not None and kind == ExportKind.PATIENT_PDF else None,
        record=export,
        detail=f"requested {kind}, audience {audience}"
        + (f", small cells under {threshold}" if audience == Audience.OUTSIDE else ""),
        at=now,
    )
    from reports.tasks import run_export

    transaction.on_commit(lambda: run_export.delay(str(export.pk)), robust=True)
    return export


def exports_waiting(*, older_than: timedelta = timedelta(minutes=1), now: datetime | None = None) -> list:
    """Exports no worker is making: still queued a while after the request (the broker was down
    when it was queued, so its task never existed) or left running by a worker that died. Beat's
    sweep queues them again; a second task for one already queued is harmless, as export_run
    claims each export once."""
    now = clock.now(now)
    return list(
        ReportExport.objects.filter(
            Q(status=ExportStatus.QUEUED, requested_at__lte=now - older_than)
            | Q(status=ExportStatus.RUNNING, started_at__lt=now - STALE_RUN)
        ).values_list("pk", flat=True)
    )


def _progress(export_id):
    def report(pct: int, note: str) -> None:
        ReportExport.objects.filter(pk=export_id, status=ExportStatus.RUNNING).update(progress=pct, progress_note=note)

    return report


def export_run(*, export_id, now: datetime | None = None) -> str:
    """Make the file of one export, once. Returns what happened."""
    from reports.render import ExportRefused, render_export

    now = clock.now(now)
    # A run left 'running' by a worker that died is taken over when its task is redelivered.
    stale = Q(status=ExportStatus.RUNNING, started_at__lt=now - STALE_RUN)
    claimed = (
        ReportExport.objects.filter(pk=export_id)
        .filter(Q(status=ExportStatus.QUEUED) | stale)
        .update(status=ExportStatus.RUNNING, started_at=now, progress=1, progress_note="Started")
    )
    if not claimed:
        return "skipped"
    export = ReportExport.objects.select_related("course__patient").get(pk=export_id)
    try:
        filename, content_type, content = render_export(
            export, progress=_progress(export.pk), now=now, kept=lambda filters: report_if_current(filters, now=now)
        )
    except ExportRefused as exc:  # a rule, not a fault: its words are the message
        ReportExport.objects.filter(pk=export_id).update(
            status=ExportStatus.FAILED, finished_at=timezone.now(), error=str(exc)[:300]
        )
        return "refused"
    except Exception as exc:  # the page shows the failure instead of spinning forever
        logger.exception("export %s failed", export_id)
        ReportExport.objects.filter(pk=export_id).update(
            status=ExportStatus.FAILED, finished_at=timezone.now(), error=f"{type(exc).__name__}: {str(exc)[:200]}"
        )
        return "failed"
    ReportExport.objects.filter(pk=export_id).update(
        status=ExportStatus.DONE,
        progress=100,
        progress_note="Ready",
        finished_at=timezone.now(),
        filename=filename,
        content_type=content_type,
        content=content,
    )
    return "done"


def export_for_download(*, export: ReportExport, by: User, now: datetime | None = None) -> ReportExport:
    """The file, for its requester or a practice lead; the download is audited."""
    now = clock.now(now)
    if export.requested_by_id != by.pk and not by.is_practice_lead:
        raise PermissionDenied("Only the person who asked for this export, or a practice lead, can download it.")
    if export.status != ExportStatus.DONE:
        raise ValidationError({NON_FIELD_ERRORS: "The file is not ready yet."})
    audit(
        actor=by,
        action=AuditAction.EXPORT,
        patient=export.course.patient if export.course_id else None,
        record=export,
        detail=f"downloaded {export.kind}, audience {export.audience}",
        at=now,
    )
    return export


# The practice report, counted once per change of the record ------------------------------------
#
# The page and the API answer from a count a worker made (`report_count_run`), kept per filters and
# clinic day in ReportCount, while the record's data version (reports/data_version.py) is the one it
# was counted at. When the record has changed, they show the last count, saying when it was made, and
# a worker counts again; a web worker waits for a count at most REPORT_WAIT_SECONDS, so a practice of
# 100,000 courses (about 25 s to count) never holds one. One count per filters is under way at a time.

# Longer than any count takes (100,000 courses: about 25 s on a loaded 2-core machine).
COUNT_TIMEOUT = timedelta(minutes=5)
# How often a waiting request looks for the count it asked for.
COUNT_POLL_SECONDS = 0.1


@dataclass(frozen=True)
class CountedReport:
    """What the page and the API show: the report (None while the first count is under way),
    whether it is current (counted at the record's present version) and whether a count is under way.
    `ident` names the kept count shown (None for one counted in place), for a caller that keeps
    what it derives from it: a kept count never changes."""

    report: PracticeReport | None
    current: bool
    counting: bool
    ident: uuid.UUID | None = None


@dataclass(frozen=True)
class _Kept:
    version: int | None  # None: nothing kept yet
    ident: uuid.UUID | None
    report: PracticeReport | None  # None: nothing kept, or unreadable by this code
    counted_at: datetime | None = None

    def current_at(self, version: int, now: datetime, *, within: timedelta | None = None) -> bool:
        """Counted at this version, and not so long ago that a lost version move could hide in it
        (REPORT_COUNT_MAX_AGE_SECONDS, or `within` when that is shorter)."""
        max_age = timedelta(seconds=settings.REPORT_COUNT_MAX_AGE_SECONDS)
        if within is not None:
            max_age = min(max_age, within)
        return self.report is not None and self.version == version and self.counted_at > now - max_age


@cache
def _code_version() -> str:
    """What the figures depend on besides the data: the code of the report and of the records,
    questionnaires and labels it reads, the clinic's time zone (the report's day) and the secret
    key (the courses' report keys). A count made otherwise (before a deploy) is never current."""
    digest = hashlib.sha256()
    root = Path(__file__).resolve().parent.parent
    for app in ("reports", "courses", "measures", "kernel"):
        for path in sorted((root / app).rglob("*.py")):
            if "migrations" not in path.parts and "management" not in path.parts:
                digest.update(path.read_bytes())
    digest.update(settings.TIME_ZONE.encode())
    digest.update(hashlib.sha256(settings.SECRET_KEY.encode()).digest())
    return digest.hexdigest()[:16]


def _count_key(filters: ReportFilters, as_of) -> str:
    what = {"filters": filters.as_dict(), "as_of": as_of.isoformat(), "code": _code_version()}
    return hashlib.sha256(json.dumps(what, sort_keys=True).encode()).hexdigest()


# Kept counts read in this process, by their payload's id (new with every payload written, so a
# database restored from a backup or emptied between tests cannot hand back another count's bytes).
# Reading and unpickling a count of 10,000 courses takes about 30 ms.
_READ: dict[uuid.UUID, PracticeReport] = {}
_READ_MAX = 16


def _kept(key: str) -> _Kept:
    head = ReportCount.objects.filter(key=key).values_list("data_version", "payload_id", "counted_at").first()
    if head is None or head[0] is None:
        return _Kept(None, None, None)
    version, payload_id, counted_at = head
    report = _READ.get(payload_id)
    if report is None:
        payload = ReportCount.objects.filter(key=key, payload_id=payload_id).values_list("payload", flat=True).first()
        try:
            report = pickle.loads(bytes(payload))  # noqa: S301 (written by report_count_run, in our own database)
        except Exception:
            report = None
        if not isinstance(report, PracticeReport):
            # Recounted since (read again next time), or bytes this code cannot use: let it go,
            # so that the next request asks for a count instead of waiting on this one.
            ReportCount.objects.filter(key=key, payload_id=payload_id).update(
                data_version=None, payload=None, payload_id=None
            )
            return _Kept(None, None, None)
        while len(_READ) >= _READ_MAX:
            _READ.pop(next(iter(_READ)))
        _READ[payload_id] = report
    return _Kept(version, payload_id, report, counted_at)


def report_counted(filters: ReportFilters, *, now: datetime | None = None, wait: float | None = None) -> CountedReport:
    """The practice report for the page and the API: the current count, or the last one while a
    worker counts again, or nothing while the first one is counted."""
    now = clock.now(now)
    if data_version.uncommitted_here():
        # This transaction wrote what the report reads; no stored count holds it and no worker can
        # see it, so it is counted here (this never happens in a request, only inside a test's
        # transaction).
        return CountedReport(build_practice_report(filters, now=now, with_rows=False), current=True, counting=False)
    as_of = timezone.localdate(now)
    key = _count_key(filters, as_of)
    version = data_version.current()
    kept = _kept(key)
    if kept.current_at(version, now):
        return CountedReport(kept.report, current=True, counting=False, ident=kept.ident)
    if not _count_ask(key, filters, as_of, version, now):
        # The broker would not take the task: count here, as before there were workers, and keep it.
        report_count_run(key=key, now=now)
        kept = _kept(key)
        current = kept.current_at(data_version.current(), clock.now())
        return CountedReport(kept.report, current, counting=False, ident=kept.ident)
    deadline = time.monotonic() + (settings.REPORT_WAIT_SECONDS if wait is None else wait)
    while True:
        fresh = _kept(key)
        if fresh.report is not None and fresh.ident != kept.ident:  # written since this request looked
            current = fresh.current_at(data_version.current(), clock.now())
            return CountedReport(fresh.report, current, counting=False, ident=fresh.ident)
        if time.monotonic() >= deadline:
            shown = fresh if fresh.report is not None else kept
            return CountedReport(shown.report, current=False, counting=True, ident=shown.ident)
        time.sleep(COUNT_POLL_SECONDS)


# A file outlives the page that showed it. An export takes the page's count only when it is this
# recent: were a version move lost (a process killed between a commit and its bump), the count
# would otherwise pass for current, and print the record before that write, for up to
# REPORT_COUNT_MAX_AGE_SECONDS. The lead who reads the page and then exports is well within it.
EXPORT_REUSE_MAX_AGE = timedelta(minutes=2)


def report_if_current(filters: ReportFilters, *, now: datetime | None = None) -> PracticeReport | None:
    """For an export: the kept count of these filters when it is current (counted today at the
    record's present version) and at most EXPORT_REUSE_MAX_AGE old, else None. It never asks for
    a count: an export that finds none counts for itself, in its own task, as before."""
    now = clock.now(now)
    if data_version.uncommitted_here():
        return None
    kept = _kept(_count_key(filters, timezone.localdate(now)))
    return kept.report if kept.current_at(data_version.current(), now, within=EXPORT_REUSE_MAX_AGE) else None


def _count_ask(key: str, filters: ReportFilters, as_of, version: int, now: datetime) -> bool:
    """Queue one count of this version, unless one of this version is under way. False when
    the broker refused the task (the claim is let go)."""
    ReportCount.objects.get_or_create(key=key, defaults={"filters": filters.as_dict(), "as_of": as_of})
    claimed = (
        ReportCount.objects.filter(key=key)
        .filter(
            Q(counting_version__isnull=True) | ~Q(counting_version=version) | Q(counting_since__lt=now - COUNT_TIMEOUT)
        )
        .update(counting_version=version, counting_since=now)
    )
    if not claimed:
        return True
    from reports.tasks import count_report

    try:
        transaction.on_commit(lambda: count_report.delay(key))
    except Exception:  # kombu's OperationalError and the like: Redis down or hung past its timeout
        logger.warning("report count not queued (broker unavailable); counting in the request")
        ReportCount.objects.filter(key=key, counting_version=version).update(counting_version=None, counting_since=None)
        return False
    return True


def report_count_run(*, key: str, now: datetime | None = None) -> str:
    """Count the practice report for one ReportCount row and keep it. Returns what happened."""
    now = clock.now(now)
    row = ReportCount.objects.filter(key=key).first()
    if row is None:
        return "gone"
    if row.as_of != timezone.localdate(now):
        return "another day"  # past midnight: the next request asks under the new day's key
    if _count_key(ReportFilters.from_dict(row.filters), row.as_of) != key:
        # Asked by a process running other code (a deploy under way): that code's workers count it.
        return "other code"
    # The settings rows are made on first read, and making one moves the version: before reading it.
    ClinicSettings.load()
    MeasureSettings.load()
    OutcomeSettings.load()
    version = data_version.current()  # read before the data, so the count is never labelled newer
    kept = _kept(key)
    if kept.current_at(version, now):
        return "current"
    report = build_practice_report(ReportFilters.from_dict(row.filters), now=now, with_rows=False)
    # Replaces any count of another version (an older one; or a higher number, after the version's
    # row was lost and begun again), or of this one counted earlier (past its age).
    other = Q(data_version__isnull=True) | ~Q(data_version=version) | Q(payload_id=None) | Q(counted_at__lt=now)
    ReportCount.objects.filter(key=key).filter(other).update(
        data_version=version, counted_at=now, payload=pickle.dumps(report), payload_id=uuid.uuid4()
    )
    ReportCount.objects.filter(key=key, counting_version=version).update(counting_version=None, counting_since=None)
    # Counts of past days are never shown again.
    ReportCount.objects.filter(as_of__lt=row.as_of).delete()
    return "counted"
