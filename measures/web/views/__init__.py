"""Views of the measures pages: the patient's self-report link and the staff pages."""
