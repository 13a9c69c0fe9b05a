"""The REST API's shared pieces: base view, paging, parsers, error shape, permissions, fields."""
