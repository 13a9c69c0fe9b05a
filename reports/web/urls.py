"""URL map of the reports web; filled in by the reports web work."""

urlpatterns: list = []
