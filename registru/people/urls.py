from django.urls import path

from registru.people import restriction_views, views

app_name = "people"
urlpatterns = [
    path("", views.person_list, name="list"),
    path("new/", views.person_create, name="create"),
    path("pick-organization/", views.organization_picker, name="pick_organization"),
    path("<id:pk>/", views.person_detail, name="detail"),
    path("<id:pk>/edit/", views.person_edit, name="edit"),
    path("<id:pk>/reveal/", views.person_reveal, name="reveal"),
    path("<id:pk>/history/", views.person_history, name="history"),
    path("<id:pk>/history/export/", views.person_history_export, name="history_export"),
    path("<id:pk>/history/<id:event_id>/revert/", views.person_revert, name="revert"),
    path("<id:pk>/archive/", views.person_archive, name="archive"),
    path("<id:pk>/restore/", views.person_restore, name="restore"),
    path("<id:pk>/merge/", views.person_merge, name="merge"),
    path("<id:pk>/erase/", views.person_erase, name="erase"),
    path("<id:pk>/restrict/", restriction_views.person_restrict, name="restrict"),
    path("<id:pk>/lift-restriction/", restriction_views.person_lift_restriction, name="lift_restriction"),
    path("<id:pk>/notes/", views.note_add, name="note_add"),
    path("<id:pk>/notes/<id:note_id>/delete/", views.note_delete, name="note_delete"),
    path("<id:pk>/employers/", views.affiliation_add, name="affiliation_add"),
    path("<id:pk>/employers/<id:affiliation_id>/end/", views.affiliation_end, name="affiliation_end"),
    path("<id:pk>/employers/<id:affiliation_id>/delete/", views.affiliation_delete, name="affiliation_delete"),
]
