"""The public pages (``/p/``): reached from links in email, no login."""

from __future__ import annotations

from django.urls import path

from registru.portal import views
from registru.questionnaires import public

app_name = "portal"
urlpatterns = [
    path("i/<token:token>/", views.invitation, name="invitation"),
    path("i/<token:token>/opened/", views.invitation_opened, name="invitation_opened"),
    path("preferences/<token:token>/", views.preference_centre, name="preferences"),
    path("u/<token:token>/", views.unsubscribe, name="unsubscribe"),
    path("q/<token:token>/", public.questionnaire, name="questionnaire"),
]
