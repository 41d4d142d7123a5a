from django.urls import path

from registru.accounts import access_views, auth_views, policy_views, views

app_name = "accounts"
urlpatterns = [
    path("", views.account, name="account"),
    path("tokens/<id:pk>/revoke/", views.revoke_token, name="revoke_token"),
    path("policy/", policy_views.access_policy, name="access_policy"),
    path("blocks/", policy_views.viewing_blocks, name="viewing_blocks"),
    path("blocks/<id:pk>/lift/", policy_views.lift_block, name="lift_block"),
    path("two-factor/", auth_views.two_factor, name="two_factor"),
    path("two-factor/recovery-codes/", auth_views.regenerate_recovery_codes, name="recovery_codes"),
    path("two-factor/off/", auth_views.disable_two_factor, name="disable_two_factor"),
    path("sessions/", auth_views.all_sessions, name="all_sessions"),
    path("sessions/<id:pk>/end/", auth_views.end_session, name="end_session"),
    path("users/<id:pk>/end-sessions/", auth_views.end_user_sessions, name="end_user_sessions"),
    path("users/<id:pk>/reset-two-factor/", auth_views.reset_user_two_factor, name="reset_two_factor"),
    path("access/", access_views.my_requests, name="access"),
    path("access/decide/", access_views.to_decide, name="access_decide"),
    path("access/<id:pk>/", access_views.request_detail, name="access_detail"),
    path("access/<id:pk>/approve/", access_views.approve, name="access_approve"),
    path("access/<id:pk>/refuse/", access_views.refuse, name="access_refuse"),
    path("access/<id:pk>/withdraw/", access_views.withdraw, name="access_withdraw"),
    path("access/<id:pk>/revoke/", access_views.revoke, name="access_revoke"),
    path("access/organizations/<id:pk>/", access_views.organization_procedure, name="access_procedure"),
]
