"""Playbook pages under /playbooks/: the list (with the global contact cap), the editor, a playbook's page
(outcome against the holdout group and the run audit) and the ticket sidebar's next-best-action card."""

from django.urls import path

from cx.playbooks import views

app_name = "playbooks"
urlpatterns = [
    path("", views.playbook_list, name="list"),
    path("new/", views.playbook_create, name="create"),
    path("settings/", views.settings_update, name="settings"),
    path("<int:playbook_id>/", views.playbook_detail, name="detail"),
    path("<int:playbook_id>/edit/", views.playbook_edit, name="edit"),
    path("<int:playbook_id>/delete/", views.playbook_delete, name="delete"),
    path("<int:playbook_id>/run/<int:customer_id>/", views.playbook_run, name="run"),
    path("next-best-action/tickets/<int:ticket_id>/", views.next_best_action_panel, name="next_best_action"),
    path("customers/<int:customer_id>/", views.customer_panel, name="customer_panel"),
    path("customers/<int:customer_id>/tags/", views.customer_tag_add, name="customer_tag_add"),
    path("customers/<int:customer_id>/tags/<str:tag>/remove/", views.customer_tag_remove, name="customer_tag_remove"),
]
