"""Views of the staff web UI, one module per area."""
