"""The B6 peer: how a Django CRM usually serves people, with Django REST framework.

A ModelViewSet with PageNumberPagination (page size 25, which counts the matches for every
page) and SearchFilter (``icontains`` over names, emails and employers), scoped through the
same ``restrict()`` as Registru and answering the same fields.
"""

from __future__ import annotations

from typing import Any

from rest_framework import serializers, viewsets
from rest_framework.filters import SearchFilter

from registru.core.scopes import restrict
from registru.people.models import Person

PERSON_FIELDS = (
    "id", "given_name", "family_name", "emails", "phones", "job_title", "preferred_language",
    "birth_date", "source", "lawful_basis", "status", "street", "city", "county",
    "postal_code", "country", "last_verified_at", "archived_at", "created_at", "updated_at",
    "version",
)  # fmt: skip


class PersonSerializer(serializers.ModelSerializer):
    owner = serializers.SerializerMethodField()

    class Meta:
        model = Person
        fields = (*PERSON_FIELDS, "owner")

    def get_owner(self, person: Person) -> dict[str, Any] | None:
        owner = person.owner
        return {"id": owner.pk, "label": owner.label} if owner else None


class PersonViewSet(viewsets.ModelViewSet):
    serializer_class = PersonSerializer
    filter_backends = (SearchFilter,)
    search_fields = ("given_name", "family_name", "emails", "affiliations__organization__name")

    def get_queryset(self) -> Any:
        people = restrict(self.request.user, Person).filter(archived_at__isnull=True)
        return people.select_related("owner").order_by("sort_key", "id")
