"""The web UI's shared pieces: access gates, service errors onto forms, widgets."""
