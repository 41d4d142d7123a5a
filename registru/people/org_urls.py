from django.urls import path

from registru.people import org_views

app_name = "organizations"
urlpatterns = [
    path("", org_views.organization_list, name="list"),
    path("new/", org_views.organization_create, name="create"),
    path("<id:pk>/", org_views.organization_detail, name="detail"),
    path("<id:pk>/edit/", org_views.organization_edit, name="edit"),
    path("<id:pk>/history/", org_views.organization_history, name="history"),
    path("<id:pk>/archive/", org_views.organization_archive, name="archive"),
    path("<id:pk>/restore/", org_views.organization_restore, name="restore"),
    path("<id:pk>/notes/", org_views.organization_note_add, name="note_add"),
]
