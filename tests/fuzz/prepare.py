"""Set up the fuzz database for bin/fuzz-api: an outsider account, one API token per role, and
the real ids each role can reach, so that the fuzzer's path parameters hit real records.

Run as `python -m tests.fuzz.prepare OUT_DIR` against the fuzz database (DATABASE_URL), after
`demo_practice`. Writes OUT_DIR/tokens.json ({role: token}) and OUT_DIR/ids-<role>.json
({path parameter: [values]}, plus "records": [[type, id], ...]). Ids outside a role's caseload
are mixed in on purpose: a real record that the caller may not see must still be a 404.
"""

import json
import os
import sys
from pathlib import Path

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kapclinic.settings")
django.setup()

from accounts.models import User  # noqa: E402
from accounts.tokens import token_issue  # noqa: E402
from courses import kinds, selectors  # noqa: E402
from courses.models import AdverseEvent, InSessionAlert  # noqa: E402
from measures import services as measure_services  # noqa: E402
from measures.models import Administration, AdministrationStatus, OutboundMessage, SafetyAlert  # noqa: E402

# Which demo account plays each role; the outsider is staff with no clinical role.
ROLES = {"therapist": "therapist1", "provider": "provider1", "lead": "lead", "outsider": "outsider"}
PER_KIND = 12  # enough variety per kind; more only slows the strategy down
FOREIGN = 3  # ids from outside the caseload, each kind


def _ids(qs, n=PER_KIND) -> list[str]:
    return [str(pk) for pk in qs.order_by("pk").values_list("pk", flat=True)[:n]]


def _mix(visible: list[str], everything: list[str]) -> list[str]:
    foreign = [pk for pk in everything if pk not in visible][:FOREIGN]
    return visible + foreign


def role_ids(user: User, lead: User) -> dict:
    courses = selectors.courses_for(user)
    doses = selectors.doses_for(user)
    all_courses = selectors.courses_for(lead)
    all_doses = selectors.doses_for(lead)
    ids = {
        "patient_id": _mix(_ids(selectors.patients_for(user)), _ids(selectors.patients_for(lead), 40)),
        "course_id": _mix(_ids(courses), _ids(all_courses, 40)),
        "session_id": _mix(_ids(selectors.dosing_sessions_for(user)), _ids(selectors.dosing_sessions_for(lead), 40)),
        "dose_id": _mix(_ids(doses), _ids(all_doses, 40)),
        "event_id": _mix(
            _ids(AdverseEvent.objects.filter(course__in=courses)),
            _ids(AdverseEvent.objects.filter(course__in=all_courses), 40),
        ),
        # The in-session alerts of the doses the role can see (closing one is the provider's).
        "in_session_alert_id": _ids(InSessionAlert.objects.filter(dose__in=all_doses), 40),
        "administration_id": _mix(
            _ids(Administration.objects.filter(course__in=courses)),
            _ids(Administration.objects.filter(course__in=all_courses), 40),
        ),
        "alert_id": _ids(SafetyAlert.objects.filter(course__in=all_courses)),
        "message_id": [int(pk) for pk in _ids(OutboundMessage.objects.all())],
        "staff_id": [int(pk) for pk in _ids(User.objects.all(), 20)],
    }
    records = []
    for kind in kinds.KINDS:
        records += [[kind.slug, pk] for pk in _ids(kind.model.objects.all(), 6)]
    ids["records"] = records
    # Live self-report links (the patient's only credential) for the open questionnaires.
    open_ones = Administration.objects.filter(status=AdministrationStatus.OPEN).order_by("pk")[:PER_KIND]
    ids["token"] = [measure_services.self_report_token(a) for a in open_ones]
    return ids


def main(out_dir: Path) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    outsider, _ = User.objects.get_or_create(username="outsider", defaults={"role": "", "is_staff": True})
    lead = User.objects.get(username=ROLES["lead"])
    tokens = {}
    for role, username in ROLES.items():
        user = User.objects.get(username=username)
        tokens[role] = token_issue(user=user)[1]
        (out_dir / f"ids-{role}.json").write_text(json.dumps(role_ids(user, lead), indent=1))
    # The anonymous run draws from the lead's ids: real records, which it must never reach.
    (out_dir / "ids-anonymous.json").write_text((out_dir / "ids-lead.json").read_text())
    (out_dir / "tokens.json").write_text(json.dumps(tokens))
    assert outsider.pk


if __name__ == "__main__":
    main(Path(sys.argv[1]))
