"""Web forms: they check shape and types (dates, numbers, lengths, choices); the services decide.

Model forms are used only to borrow field types, labels and length limits from the models:
`_post_clean` is switched off so no model validation runs here, the service does it.

One module per workflow stage, imported from directly (`from courses.web.forms.dosing import
VitalsForm`): base (ServiceModelForm, VersionedForm, shared fields), patients, courses,
evaluations, sessions, dosing, adverse_events, records (void, amend, the generic edit form), lead.
"""
