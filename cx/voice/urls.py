"""Phone URLs under /voice/: Twilio Voice webhooks (signed), IVR admin pages, the ticket's call panel."""

from django.urls import path

from cx.voice import views

app_name = "voice"
urlpatterns = [
    path("hooks/<str:webhook_key>/incoming/", views.incoming, name="incoming"),
    path("hooks/<str:webhook_key>/gather/", views.gather, name="gather"),
    path("hooks/<str:webhook_key>/dial-status/", views.dial_status, name="dial_status"),
    path("hooks/<str:webhook_key>/recording/", views.recording, name="recording"),
    path("hooks/<str:webhook_key>/transcription/", views.transcription, name="transcription"),
    path("hooks/<str:webhook_key>/status/", views.status, name="status"),
    path("menus/", views.menu_list, name="menus"),
    path("menus/new/", views.menu_create, name="menu_create"),
    path("menus/<int:menu_id>/", views.menu_edit, name="menu_edit"),
    path("menus/<int:menu_id>/delete/", views.menu_delete, name="menu_delete"),
    path("tickets/<int:ticket_id>/calls/", views.ticket_panel, name="ticket_panel"),
    path("tickets/<int:ticket_id>/calls/log/", views.call_log, name="call_log"),
]
