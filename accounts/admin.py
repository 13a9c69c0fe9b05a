from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from knox.models import AuthToken as KnoxAuthToken

from accounts.models import ApiToken, User


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


# knox registers its own token model, which kapclinic swaps for accounts.ApiToken: its admin page
# would list an unused table and offer to delete from it.
if admin.site.is_registered(KnoxAuthToken):
    admin.site.unregister(KnoxAuthToken)


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Tokens are issued through POST /api/auth/token/ only (the key is shown once, to its owner);
    here an administrator sees them and can revoke them. Nothing is deleted."""

    list_display = ("user", "created", "expiry", "revoked_at")
    list_filter = ("revoked_at",)
    search_fields = ("user__username",)
    fields = ("user", "created", "expiry", "revoked_at")
    readonly_fields = fields
    actions = ["revoke"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.action(description="Revoke the selected API tokens")
    def revoke(self, request, queryset):
        from accounts.tokens import token_revoke

        now = timezone.now()
        count = 0
        for user in User.objects.filter(pk__in=queryset.values("user")):
            count += token_revoke(
                by=request.user, user=user, tokens=queryset, why=f"by administrator {request.user.username}", now=now
            )
        self.message_user(request, f"{count} token(s) revoked.")


def _admin_login(request, extra_context=None):
    """The admin signs in through the clinic's own login, so it asks the same second factor and
    counts failures under the same lockout (accounts/mfa.py, accounts/lockout.py). Someone already
    signed in who may not use the admin is told so: sending them to the login page would send them
    straight back here, a redirect loop (found by review)."""
    if admin.site.has_permission(request):
        return redirect(request.GET.get("next") or reverse("admin:index"))
    if request.user.is_authenticated:
        raise PermissionDenied("The admin is for administrators; your account does not have access to it.")
    return redirect_to_login(request.GET.get("next") or reverse("admin:index"), login_url=reverse("login"))


admin.site.login = _admin_login
