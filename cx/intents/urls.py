from django.urls import path

from cx.intents import views

app_name = "intents"

urlpatterns = [
    path("", views.admin_page, name="admin"),
    path("settings/", views.settings_save, name="settings"),
    path("labels/", views.label_create, name="label_create"),
    path("labels/<int:label_id>/", views.label_update, name="label_update"),
    path("labels/<int:label_id>/delete/", views.label_delete, name="label_delete"),
    path("examples/", views.examples_upload, name="examples_upload"),
    path("train/", views.train_now, name="train"),
    path("tickets/<int:ticket_id>/", views.ticket_panel, name="ticket_panel"),
    path("tickets/<int:ticket_id>/correct/", views.ticket_correct, name="ticket_correct"),
]
