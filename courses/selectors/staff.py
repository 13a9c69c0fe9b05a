"""Staff accounts as the lead's pages and the choice lists show them."""

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from accounts.models import User


def staff_list() -> QuerySet[User]:
    """Every account for the lead's staff page: active first, then by role and name."""
    return User.objects.order_by("-is_active", "role", "last_name", "first_name")


def staff_by_username() -> QuerySet[User]:
    """Every account, by username (the API's staff list)."""
    return User.objects.order_by("username")


def staff_member_get(user_id) -> User:
    """One account, or 404."""
    return get_object_or_404(User, pk=user_id)


def staff_active(role: str) -> QuerySet[User]:
    """The active staff of one role, by name: a form's choice of therapist or provider."""
    return User.objects.filter(role=role, is_active=True).order_by("last_name", "first_name")
