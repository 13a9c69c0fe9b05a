"""The measures sections of courses' pages: registered in MeasuresConfig.ready() (courses/hooks.py).

courses never imports measures; its caseload, today, lead dashboard, course and dose pages ask
`courses.hooks.page_context(page, …)`, which calls these. The keys are the templates'.
"""

from collections import Counter

from measures.models import AdministrationStatus
from measures.selectors import (
    course_questionnaires,
    escalated_safety_alerts,
    messages_undelivered,
    safety_alerts_of_course,
    safety_alerts_shown,
)
from measures.web.views.administrations import ENTERABLE, MOVABLE, WAIVABLE


def safety_banner(*, user) -> dict:
    """The open item 9 alerts of the user's caseload (each one shown is audited)."""
    alerts, total = safety_alerts_shown(user=user)
    return {"safety_alerts": alerts, "safety_alerts_total": total}


def lead_dashboard(*, user) -> dict:
    return {"escalated_safety_alerts": escalated_safety_alerts(), "undelivered": messages_undelivered(user)}


def course(*, user, course) -> dict:
    """The course timeline: its alerts (the banner's are audited as shown) and its questionnaires."""
    alerts, total = safety_alerts_shown(user=user, course=course)
    questionnaires = course_questionnaires(course)
    by_status = Counter(a.status for a in questionnaires)
    return {
        "course_safety_alerts": safety_alerts_of_course(course),
        "questionnaires": questionnaires,
        # The folded table's summary: how many of each status, in the statuses' own order.
        "questionnaire_tally": [
            (label.lower(), by_status[v]) for v, label in AdministrationStatus.choices if by_status[v]
        ],
        "enterable_statuses": ENTERABLE,
        "movable_statuses": MOVABLE,
        "waivable_statuses": WAIVABLE,
        "can_manage_measures": user.is_clinician or user.is_practice_lead,
        "safety_alerts": alerts,
        "safety_alerts_total": total,
    }


def dose(*, user, course) -> dict:
    return {"safety_alerts": safety_alerts_of_course(course)}


PAGES = {"safety_banner": safety_banner, "lead_dashboard": lead_dashboard, "course": course, "dose": dose}
