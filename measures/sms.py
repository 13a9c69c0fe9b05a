"""Text messages, through a backend named in settings like Django's mail backends.

No SMS gateway ships with kapclinic: the default backend writes each message to a file under
SMS_FILE_PATH (like Django's file mail backend) so nothing is silently dropped. A clinic wires
its gateway by pointing SMS_BACKEND at a class with `send(to, body)`.
"""

import uuid
from pathlib import Path

from django.conf import settings
from django.utils import timezone
from django.utils.module_loading import import_string


class FileSmsBackend:
    def send(self, *, to: str, body: str) -> None:
        folder = Path(settings.SMS_FILE_PATH)
        folder.mkdir(parents=True, exist_ok=True)
        name = f"{timezone.now():%Y%m%d-%H%M%S}-{uuid.uuid4().hex[:8]}.txt"
        (folder / name).write_text(f"To: {to}\n\n{body}\n", encoding="utf-8")


def send_sms(*, to: str, body: str) -> None:
    import_string(settings.SMS_BACKEND)().send(to=to, body=body)
