"""The admin's base classes, shared by every app: a window onto the services, never around them.

`ServiceForm` runs the model admin's `service_save` while the form validates, so a broken rule
is a form error and nothing is saved around the service; `VersionedServiceForm` carries the
version the page was opened with. `ReadOnlyAdmin` and `ReadOnlyInline` show rows kept as
written; `SingletonSettingsAdmin` edits a one-row settings model through its update service.
"""

from django import forms
from django.contrib import admin
from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError

from kernel.concurrency import StaleWrite
from kernel.web.forms import parse_version


class ServiceForm(forms.ModelForm):
    """Runs the admin's service call during validation, so a broken rule is a form error."""

    admin_site_model = None
    request = None

    def _post_clean(self):
        # The service validates the whole row (constraints included) and says which field and
        # what to do; the model form's own constraint check would only say "violated".
        if self.admin_site_model is None:
            return super()._post_clean()
        if self.errors:
            return
        try:
            self.admin_site_model.service_save(self.request, self)
        except ValidationError as exc:
            errors = exc.message_dict if hasattr(exc, "error_dict") else {NON_FIELD_ERRORS: exc.messages}
            for field, messages in errors.items():
                for message in messages:
                    if field in self.fields:
                        self.add_error(field, message)
                    else:
                        label = "" if field == NON_FIELD_ERRORS else f"{field}: "
                        self.add_error(None, label + message)
        except PermissionDenied as exc:
            self.add_error(None, str(exc))
        except StaleWrite as exc:
            # The version stays the one the page was opened with, so saving this page again is
            # refused again: the admin shows no merge, the record has to be opened afresh.
            self.add_error(None, f"{exc} Open the record again to see the change.")


class VersionedServiceForm(ServiceForm):
    """Carries the version of the record the page was opened with (see VersionedForm on the web)."""

    opened_version = forms.CharField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["opened_version"].initial = self.instance.version

    def clean_opened_version(self) -> int:
        return parse_version(self.cleaned_data.get("opened_version"))


class ReadOnlyAdmin(admin.ModelAdmin):
    """Amendments, the audit trail, status history: kept as written."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class SingletonSettingsAdmin(admin.ModelAdmin):
    """A one-row settings model, edited through its service: set `settings_fields` (the names
    the service takes) and `update_service` (called with by= and changes=, the changed fields)."""

    form = ServiceForm
    readonly_fields = ("updated_at", "updated_by")
    settings_fields: tuple[str, ...] = ()
    update_service = None

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        return type(form.__name__, (form,), {"admin_site_model": self, "request": request})

    def service_save(self, request, form) -> None:
        changes = {n: form.cleaned_data[n] for n in form.changed_data if n in self.settings_fields}
        if changes:
            type(self).update_service(by=request.user, changes=changes)

    def save_model(self, request, obj, form, change):
        pass  # saved by the service during validation

    def changelist_view(self, request, extra_context=None):
        self.model.load()  # the single row always exists to be edited
        return super().changelist_view(request, extra_context)


class ReadOnlyInline(admin.TabularInline):
    """Rows under a record, shown for reading: each is changed on its own page, through its service."""

    extra = 0
    can_delete = False
    show_change_link = True

    def get_readonly_fields(self, request, obj=None):
        return self.fields

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False
