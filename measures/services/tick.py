"""The tick: open what is due, invite, remind, close what was missed, escalate safety alerts.

Each piece is a fixed number of set-based statements however much is due: an UPDATE claims its
rows (… RETURNING says which), an INSERT … SELECT makes the messages and the audit events. So the
tick costs the same number of queries over ten courses as over 100,000. The claims are the
statements themselves: an UPDATE re-checks its condition on a row a concurrent tick has just
changed and skips it, and an INSERT meets the unique constraints under the tick's messages with
ON CONFLICT DO NOTHING, so two ticks at once do nothing twice.
"""

import logging
import secrets
from datetime import datetime, timedelta

from django.db import NotSupportedError, connections, router, transaction
from django.db.models import Case, CharField, DateTimeField, Exists, F, Func, OuterRef, Q, QuerySet, Value, When
from django.db.models.sql import UpdateQuery
from django.utils import timezone

from accounts.models import Role, User
from courses.audit import audit_fields, record_label
from courses.choices import Channel
from courses.models import AuditAction, AuditEvent
from kernel import clock
from measures.models import (
    FOLLOW_UP_TIMEPOINTS,
    Administration,
    AdministrationStatus,
    MeasureSettings,
    MessageKind,
    MessageStatus,
    OutboundMessage,
    SafetyAlert,
)
from measures.services.base import _stale_claim, _unsendable
from measures.services.schedule import _courses_in_care

# One logger for the measures' service layer, named as before the split (log lines are unchanged).
logger = logging.getLogger("measures.services")

_NONCE_FUNCTION = "kapclinic_link_nonce"


def _link_nonce() -> str:
    return secrets.token_hex(16)


class _LinkNonce(Func):
    """A fresh self-report link nonce for each row, made in the statement that opens the row.

    A link is checked against its nonce, and a new link replaces it, so the nonce must not be
    guessable: it comes from a cryptographically strong source on every database."""

    output_field = CharField()

    def as_postgresql(self, compiler, connection, **extra_context):
        # gen_random_uuid() (core since PostgreSQL 13) is a version 4 UUID from the server's strong
        # random source: 122 random bits in the 32 hex digits, where secrets.token_hex(16) has 128.
        return "replace(CAST(gen_random_uuid() AS text), '-', '')", []

    def as_sqlite(self, compiler, connection, **extra_context):
        # SQLite's random() is no strong source: each row's nonce comes from Python's `secrets`,
        # through a function registered on this connection (registering again is harmless).
        connection.ensure_connection()
        connection.connection.create_function(_NONCE_FUNCTION, 0, _link_nonce)
        return f"{_NONCE_FUNCTION}()", []

    def as_sql(self, compiler, connection, **extra_context):
        raise NotSupportedError(f"No strong random link nonce on {connection.vendor}.")


class _UuidText(Func):
    """A UUID as str(uuid) writes it, the form of the audit trail's record_id."""

    output_field = CharField()

    def as_sql(self, compiler, connection, **extra_context):
        sql, params = compiler.compile(self.source_expressions[0])
        return f"CAST({sql} AS text)", params

    def as_sqlite(self, compiler, connection, **extra_context):
        # Django keeps a UUID in SQLite as its 32 hex digits, without the hyphens.
        sql, params = compiler.compile(self.source_expressions[0])
        parts = [f"substr({sql}, {start}, {length})" for start, length in ((1, 8), (9, 4), (13, 4), (17, 4), (21, 12))]
        return " || '-' || ".join(parts), list(params) * len(parts)


def _update_returning(queryset: QuerySet, **values) -> list:
    """`queryset.update(**values)` that says which rows it changed: one UPDATE … RETURNING.
    Returns their primary keys."""
    query = queryset.order_by().query.chain(UpdateQuery)
    query.add_update_values(values)
    query.clear_select_clause()
    using = router.db_for_write(queryset.model)
    statement, params = query.get_compiler(using).as_sql()
    pk = queryset.model._meta.pk
    connection = connections[using]
    with connection.cursor() as cursor:
        cursor.execute(f"{statement} RETURNING {connection.ops.quote_name(pk.column)}", params)
        return [pk.to_python(row[0]) for row in cursor.fetchall()]


def _insert_select(model, sources: list[tuple[QuerySet, dict]], **constants) -> int:
    """INSERT INTO `model` SELECT …: one statement for any number of rows. Returns the rows made.

    `sources` are (queryset, {field: expression over its rows}); two sources are cross-joined (each
    row of one with each of the other). `constants` give a field one value for every row; every
    other field takes its default. A row that a unique constraint says exists already (made by a
    concurrent tick) is left alone, ON CONFLICT DO NOTHING, and not counted."""
    connection = connections[router.db_for_write(model)]
    quote = connection.ops.quote_name
    chosen, froms, from_params = {}, [], []
    for n, (queryset, expressions) in enumerate(sources):
        named = {f"c_{field}": expression for field, expression in expressions.items()}
        sql, params = queryset.order_by().annotate(**named).values(*named).query.sql_with_params()
        froms.append(f"({sql}) s{n}")
        from_params.extend(params)
        chosen.update({field: (f"s{n}.{quote(name)}", []) for field, name in zip(expressions, named, strict=True)})
    columns, select, select_params = [], [], []
    for field in model._meta.concrete_fields:
        if field.db_returning:  # the id the database numbers
            continue
        sql, params = chosen.get(field.name) or (
            "%s",
            [field.get_db_prep_save(constants.get(field.name, field.get_default()), connection)],
        )
        if connection.vendor == "postgresql":
            # Typed, so a NULL or a bound parameter lands in its column whatever the binding.
            sql = f"CAST({sql} AS {'text' if isinstance(field, CharField) else field.cast_db_type(connection)})"
        columns.append(quote(field.column))
        select.append(sql)
        select_params.extend(params)
    # Names from the models, values as parameters: nothing from outside is spliced in.
    table, names, values = quote(model._meta.db_table), ", ".join(columns), ", ".join(select)
    joined = " CROSS JOIN ".join(froms)
    statement = f"INSERT INTO {table} ({names}) SELECT {values} FROM {joined} WHERE true ON CONFLICT DO NOTHING"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(statement, [*select_params, *from_params])
        return cursor.rowcount


def administrations_open_due(*, now: datetime | None = None) -> list:
    """Open every scheduled administration whose window has started, each with its own fresh
    link nonce, in one UPDATE. Returns the ids of those this call opened."""
    now = clock.now(now)
    today = timezone.localdate(now)
    due = Administration.objects.filter(
        status=AdministrationStatus.SCHEDULED,
        open_from__lte=today,
        missed_after__gte=today,
        course__in=_courses_in_care(),
    )
    return _update_returning(
        due, status=AdministrationStatus.OPEN, opened_at=now, link_nonce=_LinkNonce(), link_issued_at=now
    )


def _no_address(channel: str) -> str:
    return f"No {'phone number' if channel == Channel.SMS else 'email address'} on file."


def _message_for(administration: Administration, kind: str, now: datetime) -> OutboundMessage:
    """One message to the administration's patient (`_message_columns` is the same rule for many)."""
    patient = administration.course.patient
    channel = patient.preferred_channel
    address = patient.phone if channel == Channel.SMS else patient.email
    message = OutboundMessage(
        kind=kind, channel=channel, to_address=address, administration=administration, created_at=now
    )
    if not address:
        for field, value in _unsendable(now, _no_address(channel)).items():
            setattr(message, field, value)
    return message


def _message_columns(now: datetime) -> dict:
    """`_message_for` over a queryset of administrations: the patient's channel and its address,
    and a message with no address made failed at once, so it shows in the staff list of failed
    messages instead of vanishing."""
    sms = Q(course__patient__preferred_channel=Channel.SMS)
    no_address = (sms & Q(course__patient__phone="")) | (~sms & Q(course__patient__email=""))
    failed = _unsendable(now, "")
    return {
        "administration": F("pk"),
        "channel": F("course__patient__preferred_channel"),
        "to_address": Case(
            When(sms, then=F("course__patient__phone")), default=F("course__patient__email"), output_field=CharField()
        ),
        "status": Case(When(no_address, then=Value(failed["status"])), default=Value(MessageStatus.PENDING)),
        "failed_at": Case(When(no_address, then=Value(now)), default=None, output_field=DateTimeField()),
        "last_error": Case(
            When(no_address & sms, then=Value(_no_address(Channel.SMS))),
            When(no_address, then=Value(_no_address(Channel.EMAIL))),
            default=Value(""),
        ),
    }


def _messages_insert(administrations: QuerySet, kind: str, now: datetime) -> int:
    """A `kind` message for each of `administrations` that has none yet; returns how many this call
    made. The unique constraint (administration, kind) makes a concurrent tick's insert a no-op, and
    the count comes from the insert itself, so an overlapping tick does not count them too."""
    return _insert_select(OutboundMessage, [(administrations, _message_columns(now))], kind=kind, created_at=now)


def messages_create_invitations(*, now: datetime | None = None) -> int:
    """An invitation for every open administration that has none."""
    now = clock.now(now)
    invitation = OutboundMessage.objects.filter(administration=OuterRef("pk"), kind=MessageKind.INVITATION)
    today = timezone.localdate(now)
    needing = (
        # A window that closed is missed, not invited to (the same tick marks it so).
        Administration.objects.filter(status=AdministrationStatus.OPEN, missed_after__gte=today).filter(
            ~Exists(invitation)
        )
    )
    return _messages_insert(needing, MessageKind.INVITATION, now)


def messages_create_reminders(*, now: datetime | None = None) -> int:
    now = clock.now(now)
    days = MeasureSettings.load().reminder_after_days
    today = timezone.localdate(now)
    invited = OutboundMessage.objects.filter(
        administration=OuterRef("pk"),
        kind=MessageKind.INVITATION,
        status=MessageStatus.SENT,
        sent_at__lte=now - timedelta(days=days),
    )
    reminded = OutboundMessage.objects.filter(administration=OuterRef("pk"), kind=MessageKind.REMINDER)
    needing = Administration.objects.filter(status=AdministrationStatus.OPEN, missed_after__gte=today).filter(
        Exists(invited), ~Exists(reminded)
    )
    return _messages_insert(needing, MessageKind.REMINDER, now)


def administrations_mark_missed(*, now: datetime | None = None) -> dict[str, int]:
    """Close windows that have passed; a missed follow-up goes on the therapist's worklist in
    the same update, so no later pass has to look through every missed row for it."""
    now = clock.now(now)
    today = timezone.localdate(now)
    closed = Administration.objects.filter(missed_after__lt=today)
    # Each status on its own, so each query can use its partial index (administration_to_open
    # holds the scheduled ones by open_from, which is never after missed_after).
    waiting = (
        closed.filter(status=AdministrationStatus.SCHEDULED, open_from__lt=today),
        closed.filter(status=AdministrationStatus.OPEN),
    )
    missed = escalated = 0
    for rows in waiting:
        follow_ups = rows.filter(timepoint__in=FOLLOW_UP_TIMEPOINTS).update(
            status=AdministrationStatus.MISSED, missed_at=now, escalated_at=now
        )
        others = rows.update(status=AdministrationStatus.MISSED, missed_at=now)
        missed += follow_ups + others
        escalated += follow_ups
    return {"missed": missed, "escalated": escalated}


def messages_to_send(*, now: datetime | None = None) -> list[int]:
    """Messages waiting for a worker: never tried, due for a slow retry, a quick retry whose task
    was lost, or left 'sending' by a worker that died. The tick and the send sweep queue these."""
    now = clock.now(now)
    stale = now - _stale_claim()
    return list(
        OutboundMessage.objects.filter(
            Q(status=MessageStatus.PENDING, claimed_at__isnull=True)
            | Q(status=MessageStatus.PENDING, next_attempt_at__isnull=True, claimed_at__lt=stale)
            | Q(status=MessageStatus.PENDING, next_attempt_at__lte=now)
            | Q(status=MessageStatus.SENDING, claimed_at__lt=stale)
        ).values_list("pk", flat=True)
    )


def safety_alerts_escalate(*, now: datetime | None = None) -> int:
    """A PHQ-9 item 9 alert no clinician has acknowledged within the clinic's time goes to the
    practice leads: mail to each (through the same claimed, retried messages) and the dashboard.
    Each alert is escalated once, claimed by the UPDATE that marks it, and gets its audit event."""
    now = clock.now(now)
    hours = MeasureSettings.load().safety_alert_escalation_hours
    due = SafetyAlert.objects.filter(
        acknowledged_at__isnull=True, escalated_at__isnull=True, raised_at__lte=now - timedelta(hours=hours)
    )
    claimed = _update_returning(due, escalated_at=now)
    if not claimed:
        return 0
    alerts = SafetyAlert.objects.filter(pk__in=claimed)
    leads = User.objects.filter(role=Role.PRACTICE_LEAD, is_active=True)
    no_email = Q(email="")
    failed = _unsendable(now, "No email address on file for this practice lead.")
    messages = _insert_select(
        OutboundMessage,
        [
            (alerts, {"safety_alert": F("pk")}),
            (
                leads,
                {
                    "recipient": F("pk"),
                    "to_address": F("email"),
                    "status": Case(When(no_email, then=Value(failed["status"])), default=Value(MessageStatus.PENDING)),
                    "failed_at": Case(When(no_email, then=Value(now)), default=None, output_field=DateTimeField()),
                    "last_error": Case(When(no_email, then=Value(failed["last_error"])), default=Value("")),
                },
            ),
        ],
        kind=MessageKind.SAFETY_ESCALATION,
        channel=Channel.EMAIL,
        created_at=now,
    )
    _insert_select(
        AuditEvent,
        [(alerts, {"patient": F("course__patient"), "record_id": _UuidText("pk")})],
        record_type=str(record_label(SafetyAlert)),
        **audit_fields(
            actor=None,
            action=AuditAction.UPDATE,
            detail=f"unacknowledged after {hours} h: sent to the practice leads",
            at=now,
        ),
    )
    # One line for the lot, naming no alert or patient: the audit trail says which.
    logger.warning(
        "safety alerts unacknowledged after %s h: %s escalated, %s message(s) to the practice leads",
        hours,
        len(claimed),
        messages,
    )
    return len(claimed)


def tick(*, now: datetime | None = None) -> dict:
    """One pass of the schedule: open, invite, remind, close, escalate. Returns what it did,
    and the ids of the messages the caller should queue for sending."""
    now = clock.now(now)
    with transaction.atomic():
        opened = administrations_open_due(now=now)
    with transaction.atomic():
        invitations = messages_create_invitations(now=now)
    with transaction.atomic():
        reminders = messages_create_reminders(now=now)
    with transaction.atomic():
        closed = administrations_mark_missed(now=now)
    with transaction.atomic():
        alerts_escalated = safety_alerts_escalate(now=now)
    return {
        "opened": len(opened),
        "invitations": invitations,
        "reminders": reminders,
        **closed,
        "alerts_escalated": alerts_escalated,
        "to_send": messages_to_send(now=now),
    }
