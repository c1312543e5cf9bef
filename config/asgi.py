"""ASGI entry point: HTTP through Django, WebSockets through Channels."""

import gc
import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from cx.chat.routing import visitor_websocket_urlpatterns  # noqa: E402
from cx.chat.routing import websocket_urlpatterns as chat_websocket_urlpatterns  # noqa: E402
from cx.realtime.routing import websocket_urlpatterns  # noqa: E402
from cx.tickets.routing import websocket_urlpatterns as ticket_websocket_urlpatterns  # noqa: E402
from cx.tracking.handler import TrackingASGI  # noqa: E402

agent_websockets = AllowedHostsOriginValidator(
    AuthMiddlewareStack(URLRouter(websocket_urlpatterns + ticket_websocket_urlpatterns + chat_websocket_urlpatterns))
)
# The chat widget runs on customers' own websites: its socket checks the inbox's allowed origins itself.
visitor_websockets = URLRouter(visitor_websocket_urlpatterns)


async def websockets(scope, receive, send):
    app = visitor_websockets if scope["path"].startswith("/ws/chat/visitor/") else agent_websockets
    return await app(scope, receive, send)


# The tracking API (/v1/...) is answered before Django's middleware: it must only append to a durable spool.
application = ProtocolTypeRouter({"http": TrackingASGI(django_asgi_app), "websocket": websockets})

# Everything loaded by now (Django, the apps and their libraries: ~150,000 objects) lives as long as the process.
# Frozen, the cyclic garbage collector stops rescanning it: otherwise every full collection pauses the request
# that triggers it for 100-200 ms, the p95 tail of benchmarks/tickets.py (see benchmarks/RESULTS.md).
gc.collect()
gc.freeze()
