"""URL map of the measures web; filled in by the measures web work."""

urlpatterns: list = []
