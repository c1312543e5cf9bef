"""The customer portal under /portal/."""

from django.urls import path

from cx.portal import views

app_name = "portal"
urlpatterns = [
    path("", views.home, name="home"),
    path("login/", views.login, name="login"),
    path("login/<str:token>/", views.redeem, name="redeem"),
    path("logout/", views.logout, name="logout"),
    path("requests/new/", views.new_request, name="new_request"),
    path("requests/suggest/", views.suggest, name="suggest"),
    path("requests/<int:ticket_id>/", views.ticket, name="ticket"),
    path("requests/<int:ticket_id>/reply/", views.reply, name="reply"),
    path("files/<int:attachment_id>/", views.attachment, name="attachment"),
    path("articles/<int:article_id>/", views.suggested, name="suggested"),
]
