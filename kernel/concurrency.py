"""Optimistic concurrency: the refusal of a write based on an older read, known to every interface.

An app's services raise a subclass (courses' `RecordChanged` names who changed the record and
when); the API's error handler answers it with a 409 naming `version`, the web's `call_service`
shows it on the form with the user's entries kept, the admin's service form as a form error.
"""


class StaleWrite(Exception):
    """Someone saved the record after the caller read it; nothing was written.

    A subclass sets `record` (the row as it is now, with its `version`) and `read_version` (the
    version the caller sent), and its message says what happened and what to do."""

    record: object
    read_version: int
