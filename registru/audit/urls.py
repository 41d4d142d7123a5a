from django.urls import path

from registru.audit import views

app_name = "audit"
urlpatterns = [
    path("", views.trail, name="trail"),
    path("export/", views.trail_export, name="export"),
    path("verify/", views.verify_now, name="verify"),
    path("export/jobs/<id:job_id>/", views.export_job, name="export-job"),
    path("export/jobs/<id:job_id>/download/", views.export_job_download, name="export-job-download"),
]
