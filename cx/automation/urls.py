"""Automation pages under /automation/: macros, triggers, time rules and the ticket page's macro menu."""

from django.urls import path

from cx.automation import views

app_name = "automation"
urlpatterns = [
    path("", views.macro_list, name="macros"),
    path("macros/new/", views.macro_create, name="macro_create"),
    path("macros/<int:macro_id>/", views.macro_edit, name="macro_edit"),
    path("macros/<int:macro_id>/delete/", views.macro_delete, name="macro_delete"),
    path("triggers/", views.trigger_list, name="triggers"),
    path("triggers/new/", views.trigger_create, name="trigger_create"),
    path("triggers/<int:trigger_id>/", views.trigger_edit, name="trigger_edit"),
    path("triggers/<int:trigger_id>/delete/", views.trigger_delete, name="trigger_delete"),
    path("time-rules/", views.time_rule_list, name="time_rules"),
    path("time-rules/new/", views.time_rule_create, name="time_rule_create"),
    path("time-rules/<int:time_rule_id>/", views.time_rule_edit, name="time_rule_edit"),
    path("time-rules/<int:time_rule_id>/delete/", views.time_rule_delete, name="time_rule_delete"),
    path("tickets/<int:ticket_id>/macros/", views.macro_menu, name="macro_menu"),
    path("tickets/<int:ticket_id>/macros/<int:macro_id>/apply/", views.macro_apply, name="macro_apply"),
]
