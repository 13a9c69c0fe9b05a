"""API access: staff of the three roles (and superusers) only; caseload scoping is in the apps' selectors.

Every app's views share these gates. They ask the user model's `is_clinic_staff` and
`is_practice_lead` (accounts.models.User), so the kernel needs no import of the accounts app.
"""

from rest_framework.permissions import BasePermission


class IsStaffMember(BasePermission):
    message = "Sign in with a clinic staff account."

    def has_permission(self, request, view) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and user.is_clinic_staff)


class IsPracticeLead(IsStaffMember):
    """For reads that have no service to refuse them (audit trail, settings, staff list)."""

    message = "Only a practice lead can see this."

    def has_permission(self, request, view) -> bool:
        return super().has_permission(request, view) and request.user.is_practice_lead
