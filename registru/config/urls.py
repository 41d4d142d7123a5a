"""URL configuration. Personal data never travels in a URL: ids, opaque cursors and tokens only."""

from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.urls import include, path

from registru.accounts import auth_views as login_views
from registru.config.api import api
from registru.core import views as core_views

urlpatterns = [
    path("", core_views.home, name="home"),
    path("login/", login_views.login_view, name="login"),
    path("login/code/", login_views.login_code_view, name="login_code"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("healthz", core_views.health, name="health"),
    path("api/v1/", api.urls),
    path("people/", include("registru.people.urls")),
    path("organizations/", include("registru.people.org_urls")),
    path("account/", include("registru.accounts.urls")),
    path("audit/", include("registru.audit.urls")),
    path("campaigns/", include("registru.campaigns.urls")),
    path("questionnaires/", include("registru.questionnaires.urls")),
    path("outbox/", include("registru.mail.urls")),
    path("consent/", include("registru.consent.urls")),
    path("exports/", include("registru.exports.urls")),
    path("dashboard/", include("registru.dashboard.urls")),
    path("p/", include("registru.portal.urls")),
]

handler404 = "registru.core.views.not_found"
