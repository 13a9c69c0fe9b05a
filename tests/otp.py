"""Codes of an authenticator app, computed the way the app does (RFC 6238, django-otp's TOTP)."""

import time

from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice


def enrolled(user) -> TOTPDevice:
    """The user's confirmed authenticator (made here when the test needs one ready)."""
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    return device or TOTPDevice.objects.create(user=user, name="Test phone", confirmed=True)


def code_at(key: bytes, step_index: int, device_step: int = 30) -> str:
    totp = TOTP(key, step=device_step)
    totp.time = step_index * device_step
    return f"{totp.token():06d}"


def next_code(device: TOTPDevice, *, wait: bool = True) -> str:
    """A code the device accepts now: the current step's, or the next one when the current step
    was already spent (django-otp refuses a step twice; it accepts one step ahead). With `wait`,
    sleeps into the next step when even that one is spent (real clock only)."""
    device.refresh_from_db()
    now_step = int(time.time() - device.t0) // device.step
    wanted = max(now_step, device.last_t + 1)
    if wanted > now_step + device.tolerance:
        if not wait:
            raise AssertionError("no unspent code within the tolerance: move the clock on")
        time.sleep((wanted - device.tolerance) * device.step + device.t0 - time.time() + 0.05)
    return code_at(device.bin_key, wanted, device.step)


def code_from_secret(secret: str) -> str:
    """From the key the enrolment page shows (base32, as a person would type it into the app)."""
    from base64 import b32decode

    key = b32decode(secret.replace(" ", "").upper())
    return code_at(key, int(time.time()) // 30)
