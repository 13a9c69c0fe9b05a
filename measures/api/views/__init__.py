"""Measures API views, one module per resource: the patient's self-report link, and staff reads and
writes of the schedule.

Each view checks the request's shape and calls measures.services, which holds every rule.
Records named in the URL are scoped to the caller's caseload (courses.selectors.courses_for):
anything outside it is a 404, as in the course API.

- `_common`: the documented error answers and the scoped read
- `self_report`: the patient's link (no sign-in: the signed, single-use token in the URL is the
  only credential, so those views have no authentication and answer `Cache-Control: no-store`)
- `administrations`: a course's questionnaires and the responses a clinician enters or reads
- `safety_alerts`, `messages` (not sent), `settings` (the clinic's measure schedule)

Importers name the module: this package re-exports nothing.
"""
