"""Questionnaire pages (staff). The public page is under /p/q/ (portal)."""

from __future__ import annotations

from django.urls import path

from registru.questionnaires import views

app_name = "questionnaires"
urlpatterns = [
    path("", views.questionnaire_list, name="list"),
    path("new/", views.questionnaire_new, name="new"),
    path("reviews/", views.review_list, name="reviews"),
    path("reviews/<id:pk>/", views.review_decide, name="decide"),
    path("<id:pk>/", views.questionnaire_detail, name="detail"),
    path("<id:pk>/edit/", views.questionnaire_edit, name="edit"),
    path("<id:pk>/run/", views.questionnaire_run, name="run"),
    path("<id:pk>/results.csv", views.questionnaire_csv, name="csv"),
]
