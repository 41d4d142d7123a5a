"""`registru check` (and every command that runs checks) refuses a missing or wrong master key."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Error, register
from django.db import DatabaseError

from registru.vault import keys


@register("vault")
def check_master_key(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    try:
        key = keys.load()
    except keys.MasterKeyMissingError as exc:
        if settings.PRODUCTION:
            return [Error(str(exc), id="vault.E001")]
        return []  # made on first use outside production
    except Exception as exc:  # noqa: BLE001  (any unreadable key is the same finding)
        return [Error(f"The master key cannot be read: {exc}", id="vault.E002")]
    return _fingerprint_errors(key)


def _fingerprint_errors(key: keys.MasterKey) -> list[Error]:
    from registru.vault.models import Keyring

    try:
        recorded = Keyring.objects.filter(pk=1).values_list("fingerprint", flat=True).first()
    except DatabaseError:
        return []  # not migrated yet: nothing to compare with
    if recorded is not None and recorded != key.fingerprint:
        message = f"The master key {key.fingerprint} is not this database's key {recorded}."
        hint = "Restore the right key file from your backup (see docs/deployment.md); never make a new one."
        return [Error(message, hint=hint, id="vault.E003")]
    return []
