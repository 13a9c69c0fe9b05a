"""The measures' public write API: the schedule, the tick's work, messages, answers and safety alerts.

Every entry point (web, API, Celery tasks, admin) calls these as
`from measures import services; services.tick(...)`. Work that must happen once is claimed with a
conditional update and guarded by a unique constraint, so running the tick twice at once, or
re-running a task a killed worker left behind, does nothing twice.

The package is split by stage; this module only re-exports the public names:

- `base`: the clock, the field error, the care-team check
- `schedule`: planning a course's questionnaires (`schedule_sync`, run on every course change
  through the `courses.hooks.course_changed` signal, see `measures.apps`) and clinicians' adjustments
- `tick`: opening, inviting, reminding, marking missed, escalating
- `messages`: sending, retrying, self-report links, queueing send tasks
- `responses`: answers by link or entered by a clinician
- `safety`: PHQ-9 item 9 alerts
- `settings`: the measures' settings and what a change moves

Private helpers (leading underscore) are not re-exported: import them from their module.
"""

from measures.services.base import ACTIVE, STALE_CLAIM
from measures.services.messages import (
    LINK_SALT,
    MAX_SEND_ATTEMPTS,
    PATIENT_KINDS,
    SendFailed,
    administration_send_new_link,
    message_retry,
    message_send,
    queue_messages,
    self_report_token,
    self_report_url,
)
from measures.services.responses import LinkProblem, response_enter, response_submit_self_report, self_report_resolve
from measures.services.safety import safety_alert_acknowledge, safety_alert_raise, safety_alert_recipients
from measures.services.schedule import (
    MAX_WINDOW_DAYS,
    WAIVABLE,
    administration_add,
    administration_adjust,
    administration_cancel,
    administration_waive,
    course_facts,
    schedule_rules,
    schedule_sync,
    schedule_sync_open_courses,
    schedule_sync_stalled,
)
from measures.services.settings import (
    MEASURE_SETTINGS_FIELDS,
    MEASURE_SETTINGS_RANGES,
    SETTING_MOVES,
    SettingMove,
    measure_settings_update,
    settings_change_moves,
)
from measures.services.tick import (
    administrations_mark_missed,
    administrations_open_due,
    messages_create_invitations,
    messages_create_reminders,
    messages_to_send,
    safety_alerts_escalate,
    tick,
)

__all__ = [
    "ACTIVE",
    "LINK_SALT",
    "LinkProblem",
    "MAX_SEND_ATTEMPTS",
    "MAX_WINDOW_DAYS",
    "MEASURE_SETTINGS_FIELDS",
    "MEASURE_SETTINGS_RANGES",
    "PATIENT_KINDS",
    "SETTING_MOVES",
    "STALE_CLAIM",
    "SendFailed",
    "SettingMove",
    "WAIVABLE",
    "administration_add",
    "administration_adjust",
    "administration_cancel",
    "administration_send_new_link",
    "administration_waive",
    "administrations_mark_missed",
    "administrations_open_due",
    "course_facts",
    "measure_settings_update",
    "message_retry",
    "message_send",
    "messages_create_invitations",
    "messages_create_reminders",
    "messages_to_send",
    "queue_messages",
    "response_enter",
    "response_submit_self_report",
    "safety_alert_acknowledge",
    "safety_alert_raise",
    "safety_alert_recipients",
    "safety_alerts_escalate",
    "schedule_rules",
    "schedule_sync",
    "schedule_sync_open_courses",
    "schedule_sync_stalled",
    "self_report_resolve",
    "self_report_token",
    "self_report_url",
    "settings_change_moves",
    "tick",
]
