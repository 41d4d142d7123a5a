"""Export pages: /exports/."""

from __future__ import annotations

from django.urls import path

from registru.exports import views

app_name = "exports"
urlpatterns = [
    path("", views.export_list, name="list"),
    path("new/", views.export_new, name="new"),
    path("preview/", views.export_preview, name="preview"),
    path("approvals/", views.approval_list, name="approvals"),
    path("register/", views.export_register, name="register"),
    path("register/csv/", views.export_register_csv, name="register_csv"),
    path("<id:pk>/", views.export_detail, name="detail"),
    path("<id:pk>/progress/", views.export_progress, name="progress"),
    path("<id:pk>/approve/", views.export_decide, {"decision": "approve"}, name="approve"),
    path("<id:pk>/refuse/", views.export_decide, {"decision": "refuse"}, name="refuse"),
    path("<id:pk>/cancel/", views.export_cancel, name="cancel"),
    path("<id:pk>/download/", views.export_download, name="download"),
]
