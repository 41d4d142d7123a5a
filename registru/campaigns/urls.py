"""Campaign and mailing pages."""

from __future__ import annotations

from django.urls import path

from registru.campaigns import views
from registru.campaigns.views import ACTIONS

app_name = "campaigns"
urlpatterns = [
    path("", views.campaign_list, name="list"),
    path("new/", views.campaign_new, name="new"),
    path("audience/", views.audience_preview, name="audience"),
    path("<id:pk>/", views.campaign_detail, name="detail"),
    path("<id:pk>/edit/", views.campaign_edit, name="edit"),
    path("<id:pk>/progress/", views.campaign_progress, name="progress"),
    *(path(f"<id:pk>/{action}/", views.campaign_action, {"action": action}, name=action) for action in ACTIONS),
    path("mailings/", views.mailing_list, name="mailings"),
    path("mailings/new/", views.mailing_new, name="mailing_new"),
]
