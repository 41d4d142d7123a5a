"""The dashboard page: /dashboard/."""

from __future__ import annotations

from django.urls import path

from registru.dashboard import views

app_name = "dashboard"
urlpatterns = [
    path("", views.dashboard, name="dashboard"),
]
