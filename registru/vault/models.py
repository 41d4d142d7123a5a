"""Per-person data keys, wrapped by the master key, and the fingerprint of that master key."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from registru.core.fields import RowidBigIntegerField


class Keyring(models.Model):
    """One row: which master key this database belongs to (its fingerprint, never the key)."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    fingerprint = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)
    rotated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("keyring")

    def __str__(self) -> str:
        return f"master key {self.fingerprint}"


class PersonKey(models.Model):
    """A person's AES-256 data key, wrapped by the master key (AES-256-GCM, bound to the person;
    keys wrapped earlier with RFC 3394 still unwrap).

    Shredding sets ``wrapped`` to NULL: every value encrypted under the key becomes unreadable
    for good, while the ciphertext (and the hashes of the trail over it) stays as it was.
    """

    person_id = RowidBigIntegerField(primary_key=True)
    wrapped = models.BinaryField(null=True)
    created_at = models.DateTimeField(auto_now_add=True)
    shredded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("person key")

    def __str__(self) -> str:
        state = "shredded" if self.shredded_at else "active"
        return f"data key of person {self.person_id} ({state})"
