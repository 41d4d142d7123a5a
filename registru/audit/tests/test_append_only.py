"""Audit events are only ever added: Django refuses to change or delete them."""

from __future__ import annotations

import pytest

from registru.audit.models import AppendOnlyError, AuditEvent
from registru.people import services
from registru.testing.factories import SETUP

pytestmark = pytest.mark.django_db


def test_it_refuses_to_change_or_delete_events(cast) -> None:
    services.update_person(cast.andrei_person, {"job_title": "X"}, actor=SETUP)
    event = AuditEvent.objects.latest("id")
    count = AuditEvent.objects.count()
    event.actor_label = "altcineva"
    with pytest.raises(AppendOnlyError):
        event.save()
    with pytest.raises(AppendOnlyError):
        event.delete()
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.filter(pk=event.pk).update(actor_label="altcineva")
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.all().delete()
    assert AuditEvent.objects.count() == count
    assert AuditEvent.objects.get(pk=event.pk).actor_label == "test setup"
