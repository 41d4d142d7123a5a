from django.urls import path

from registru.audit import views

app_name = "audit"
urlpatterns = [
    path("", views.trail, name="trail"),
    path("export/", views.trail_export, name="export"),
    path("verify/", views.verify_now, name="verify"),
]
