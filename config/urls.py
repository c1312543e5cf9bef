"""URL wiring: each app owns its urls module; the API and admin are mounted here."""

from django.contrib import admin
from django.shortcuts import redirect
from django.urls import include, path

from config.api import api
from config.errors import api_aware_404

admin.site.site_header = "cxdesk administration"
admin.site.site_title = "cxdesk admin"


def home(request):
    return redirect("tickets:inbox")


urlpatterns = [
    path("", home, name="home"),
    path("accounts/", include("cx.accounts.urls")),
    path("customers/", include("cx.customers.urls")),
    path("journeys/", include("cx.journeys.urls")),
    path("tracking/", include("cx.tracking.urls")),
    path("v1/", include("cx.tracking.api_urls")),
    path("tickets/", include("cx.tickets.urls")),
    path("sla/", include("cx.sla.urls")),
    path("notifications/", include("cx.notifications.urls")),
    path("support/", include("cx.inbox.urls")),
    path("messaging/", include("cx.messaging.urls")),
    path("voice/", include("cx.voice.urls")),
    path("automation/", include("cx.automation.urls")),
    path("playbooks/", include("cx.playbooks.urls")),
    path("surveys/", include("cx.surveys.urls")),
    path("kb/", include("cx.kb.urls")),
    path("help/", include("cx.kb.help_urls")),
    path("sitemap.xml", include("cx.kb.sitemap_urls")),
    path("portal/", include("cx.portal.urls")),
    path("intents/", include("cx.intents.urls")),
    path("bot/", include("cx.bot.urls")),
    path("chat/", include("cx.chat.urls")),
    path("mail/", include("cx.mail.urls")),
    path("insights/churn/", include("cx.churn.urls")),
    path("insights/clv/", include("cx.clv.urls")),
    path("insights/drivers/", include("cx.drivers.urls")),
    path("insights/", include("cx.insights.urls")),
    path("admin/", admin.site.urls),
    path("api/", api.urls),
]

handler404 = api_aware_404
