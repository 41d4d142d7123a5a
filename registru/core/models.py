"""Base models shared by every app that holds personal data."""

from __future__ import annotations

from typing import Any

from django.db import models

from registru.core.context import ensure_write_allowed


class AuditedQuerySet[M: models.Model](models.QuerySet[M]):
    """A queryset whose set-based writes are allowed only inside a service."""

    def update(self, **kwargs: Any) -> int:
        ensure_write_allowed(self.model._meta.label)
        return super().update(**kwargs)

    def delete(self) -> tuple[int, dict[str, int]]:
        ensure_write_allowed(self.model._meta.label)
        return super().delete()

    def bulk_create(self, objs: Any, *args: Any, **kwargs: Any) -> list[M]:
        ensure_write_allowed(self.model._meta.label)
        return super().bulk_create(objs, *args, **kwargs)

    def bulk_update(self, objs: Any, *args: Any, **kwargs: Any) -> int:
        ensure_write_allowed(self.model._meta.label)
        return super().bulk_update(objs, *args, **kwargs)

    def update_or_create(self, *args: Any, **kwargs: Any) -> tuple[M, bool]:
        ensure_write_allowed(self.model._meta.label)
        return super().update_or_create(*args, **kwargs)


class GuardedModel(models.Model):
    """A model holding personal data that only service functions may write.

    The check is a guard against mistakes in our own code (a view calling ``.save()``);
    writes that go around Django altogether are caught by database triggers.
    """

    objects = AuditedQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        ensure_write_allowed(self._meta.label)
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        ensure_write_allowed(self._meta.label)
        return super().delete(*args, **kwargs)


class AuditedModel(GuardedModel):
    """A personal-data record: guarded writes, and the times it was made and last changed."""

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True
