"""REST API views, one module per resource: each checks the request's shape with a small serializer
and calls a service.

Reads go through courses.selectors (caseload scoping, 404 outside it, audited reads of a
patient's record); writes go through courses.services, which hold every clinical rule and
permission. A record named in a request body that the caller may not see is a 400 naming
the field; one named in the URL is a 404.

- `_common`: the documented error answers and the helpers several resources share
- `auth`: API sign-in and tokens
- `patients`, `courses` (stages, exceptions, timeline), `evaluations`, `sessions` (preparatory and
  integration), `dosing` (sessions, doses, vitals, holds, alerts, discharge), `adverse_events`
- `records`: any record by kind: read, edit, sign, amend, void
- `staff`: clinic settings and staff accounts

Importers name the module (`from courses.api.views.records import RECORD_SERIALIZERS`): this
package re-exports nothing.
"""
