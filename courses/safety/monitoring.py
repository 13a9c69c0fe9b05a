"""Are vitals overdue for a dosed patient still in the chair (the reading at about 40 minutes, then
every clinic interval)?"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from courses.choices import VitalPhase
from courses.safety.blockers import hm
from courses.safety.vitals import Reading

# "About 40 minutes" after the dose (DOMAIN §3, the SPRAVATO REMS form: the blood-pressure peak):
# a during-session reading counts as that reading from 30 minutes on, and is overdue after 50.
PEAK_READING_FROM = timedelta(minutes=30)
PEAK_READING_DUE = timedelta(minutes=50)


@dataclass(frozen=True)
class Monitoring:
    """Are vitals overdue for a dosed patient still in the chair?"""

    overdue: bool
    next_due: datetime | None = None
    message: str = ""


def monitoring_status(
    *, dosed_at: datetime | None, ended: bool, readings: Sequence[Reading], now: datetime, interval: timedelta
) -> Monitoring:
    if dosed_at is None or ended:
        return Monitoring(overdue=False)
    after_dose = [r.taken_at for r in readings if r.taken_at >= dosed_at]
    last = max(after_dose, default=dosed_at)
    peak_taken = any(r.phase == VitalPhase.DURING and r.taken_at >= dosed_at + PEAK_READING_FROM for r in readings)
    due = last + interval
    if not peak_taken:
        due = min(due, dosed_at + PEAK_READING_DUE)
    if now <= due:
        return Monitoring(overdue=False, next_due=due)
    if not peak_taken and now > dosed_at + PEAK_READING_DUE:
        what = "the reading at about 40 minutes after the dose is overdue"
    else:
        what = f"vitals are overdue (last at {hm(last)}, every {interval // timedelta(minutes=1)} minutes)"
    return Monitoring(overdue=True, next_due=due, message=what[0].upper() + what[1:] + ".")
