"""Small text filters for the staff pages."""

from django import template
from django.utils.html import format_html

register = template.Library()


@register.filter
def email_breaks(address: str):
    """An address that wraps before its "@" on a narrow screen instead of mid-word
    ("therapist1@kapcli|nic.invalid"). Both halves are escaped."""
    local, at, domain = (address or "").partition("@")
    if not at:
        return address
    return format_html("{}<wbr>@{}", local, domain)
