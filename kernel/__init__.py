"""The shared kernel below the apps (in the spirit of healthchecks' `hc/lib`).

What every app's interfaces need and no app owns: the API's base view, paging, parsers, error
shape and permissions; the web views' access gates and the way a service's refusal reaches a
form; the form widgets; the admin's base classes; the clock; the text limits; the one-row
settings base. It imports Django, DRF and third-party packages only, never a project app, so
`courses`, `measures` and `reports` can all stand on it without walking through each other.
"""
