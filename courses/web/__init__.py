"""The staff web UI: server-rendered pages over courses.services and courses.selectors."""
