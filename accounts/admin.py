from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from accounts.models import User


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ("username", "first_name", "last_name", "role", "is_active")
    list_filter = ("role", "is_active")
    fieldsets = BaseUserAdmin.fieldsets + (("Clinic", {"fields": ("role", "credentials")}),)
    add_fieldsets = BaseUserAdmin.add_fieldsets + (("Clinic", {"fields": ("role", "credentials")}),)

    def has_delete_permission(self, request, obj=None):
        # Signed records, audit events and amendments name their authors: staff leave by
        # deactivation (is_active), never by deletion.
        return False

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions
