from django.urls import path

from registru.people import views

app_name = "people"
urlpatterns = [
    path("", views.person_list, name="list"),
    path("new/", views.person_create, name="create"),
    path("pick-organization/", views.organization_picker, name="pick_organization"),
    path("<int:pk>/", views.person_detail, name="detail"),
    path("<int:pk>/edit/", views.person_edit, name="edit"),
    path("<int:pk>/history/", views.person_history, name="history"),
    path("<int:pk>/history/<int:event_id>/revert/", views.person_revert, name="revert"),
    path("<int:pk>/archive/", views.person_archive, name="archive"),
    path("<int:pk>/restore/", views.person_restore, name="restore"),
    path("<int:pk>/notes/", views.note_add, name="note_add"),
    path("<int:pk>/employers/", views.affiliation_add, name="affiliation_add"),
    path("<int:pk>/employers/<int:affiliation_id>/end/", views.affiliation_end, name="affiliation_end"),
    path(
        "<int:pk>/employers/<int:affiliation_id>/delete/", views.affiliation_delete, name="affiliation_delete"
    ),
]
