"""The Outbox pages."""

from __future__ import annotations

from django.urls import path

from registru.mail import views

app_name = "mail"
urlpatterns = [
    path("", views.outbox, name="outbox"),
    path("<id:pk>/", views.message_detail, name="message"),
]
