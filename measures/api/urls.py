"""URL map of the measures api; filled in by the measures api work."""

urlpatterns: list = []
