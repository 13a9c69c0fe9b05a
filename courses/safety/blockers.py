"""What a refusal is made of: Blockers (what is missing, which field, what to do), and the
ValidationError dict they become in the services."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

NON_FIELD = "__all__"


@dataclass(frozen=True)
class Blocker:
    """One thing that stands between the patient and an act (a dose, a discharge)."""

    code: str
    message: str
    field: str = NON_FIELD
    # Can a medical provider go ahead anyway by documenting why (a discharge exception)?
    exceptionable: bool = False


def errors_of(blockers: Sequence[Blocker]) -> dict[str, list[str]]:
    """Blockers as a services' ValidationError dict: the messages by the field they concern."""
    out: dict[str, list[str]] = {}
    for blocker in blockers:
        out.setdefault(blocker.field, []).append(blocker.message)
    return out


def hm(moment: datetime | None) -> str:
    return f"{moment:%H:%M}" if moment else ""
