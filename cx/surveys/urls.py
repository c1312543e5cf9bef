"""Survey pages under /surveys/; public pages (no login) under /surveys/s/<token>/."""

from django.urls import path

from cx.surveys import views

app_name = "surveys"
urlpatterns = [
    path("", views.survey_list, name="list"),
    path("<int:survey_id>/", views.survey_detail, name="detail"),
    path("<int:survey_id>/status/", views.survey_status, name="status"),
    path("<int:survey_id>/questions/", views.question_add, name="question_add"),
    path("<int:survey_id>/questions/<int:question_id>/", views.question_edit, name="question_edit"),
    path("<int:survey_id>/preview/", views.survey_preview, name="preview"),
    path("<int:survey_id>/send/", views.survey_send, name="send"),
    path("<int:survey_id>/in-app/", views.survey_in_app, name="in_app"),
    path("<int:survey_id>/dashboard/", views.survey_dashboard, name="dashboard"),
    path("<int:survey_id>/themes/rebuild/", views.themes_rebuild, name="themes_rebuild"),
    path("in-app.js", views.in_app_js, name="in_app_js"),
    path("responses/", views.response_list, name="responses"),
    path("responses.csv", views.response_csv, name="responses_csv"),
    path("follow-ups/", views.follow_up_list, name="follow_ups"),
    path("policy/", views.policy_edit, name="policy"),
    path("tickets/<int:ticket_id>/satisfaction/", views.ticket_satisfaction, name="ticket_satisfaction"),
    path("s/<str:token>/", views.public_survey, name="public"),
    path("s/<str:token>/score/<int:score>/", views.public_score, name="public_score"),
]
