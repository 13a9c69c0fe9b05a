"""API access: staff of the three roles (and superusers) only; caseload scoping is in selectors."""

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
