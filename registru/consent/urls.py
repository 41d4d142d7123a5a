"""Pages of the consent app: purposes and notices, a person's consents, the proof bundle."""

from __future__ import annotations

from django.urls import path

from registru.consent import views

app_name = "consent"
urlpatterns = [
    path("purposes/", views.purpose_list, name="purposes"),
    path("purposes/new/", views.purpose_create, name="purpose_create"),
    path("purposes/<id:pk>/", views.purpose_detail, name="purpose"),
    path("purposes/<id:pk>/edit/", views.purpose_edit, name="purpose_edit"),
    path("purposes/<id:pk>/notices/", views.notice_publish, name="notice_publish"),
    path("people/<id:pk>/", views.person_consents, name="person"),
    path("people/<id:pk>/proof.json", views.proof_json, name="proof_json"),
    path("people/<id:pk>/proof.pdf", views.proof_pdf, name="proof_pdf"),
]
