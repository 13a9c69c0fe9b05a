"""URL map of the reports api; filled in by the reports api work."""

urlpatterns: list = []
