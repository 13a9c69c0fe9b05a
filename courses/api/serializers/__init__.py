"""API serializers, one module per resource: input ones check shape and types only; output ones
render the record.

Input limits mirror the model (max_length, digits, integer column ranges, choices) so bad input
is a 400 naming the field before any service runs. Clinical ranges and rules (plausible vitals,
route maxima, screen decisions) are the services' to judge, so their messages are the same in
the web UI and the API.

- `_common`: the pieces every resource shares (model-derived input, the record and signature
  fields of an answer, `version`, blockers)
- `patients`, `courses` (with the timeline), `evaluations`, `sessions` (preparatory and
  integration), `dosing` (sessions, doses, vitals, holds, alerts, discharge), `adverse_events`
- `records`: any record's sign, amend and void bodies
- `staff`: staff accounts and the clinic settings

Importers name the module (`from courses.api.serializers.patients import PatientSerializer`):
this package re-exports nothing. Each class name is a component name of the API schema.
"""
