"""ASGI entry point: HTTP through Django, WebSockets through Channels."""

import contextlib
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


def _warm_up() -> None:
    """Load now what the first requests would load lazily: the URLconf (every view and API module, the API's
    schemas), the search's embedding model and every template, compiled by the cached loader."""
    from pathlib import Path

    from django.apps import apps
    from django.conf import settings
    from django.template import TemplateDoesNotExist, TemplateSyntaxError
    from django.template.loader import get_template
    from django.urls import get_resolver

    from cx.search.embeddings import embedding_dimensions

    get_resolver().reverse_dict  # noqa: B018 — imports the URLconf and builds the reverse lookup
    embedding_dimensions()  # loads the search's embedding model (0.4 s): the first search does not wait for it
    folders = [Path(d) for d in settings.TEMPLATES[0]["DIRS"]]
    folders += [Path(app.path) / "templates" for app in apps.get_app_configs()]
    for folder in folders:
        for path in sorted(folder.rglob("*.html")) if folder.is_dir() else []:
            # Shadowed by another app's template of the same name, or broken: its own request will say so.
            with contextlib.suppress(TemplateDoesNotExist, TemplateSyntaxError):
                get_template(str(path.relative_to(folder)))


# Everything loaded by now (Django, the apps, their libraries, views and templates: ~200,000 objects) lives as
# long as the process. Frozen, the cyclic garbage collector stops rescanning it: otherwise every full
# collection pauses the request that triggers it for 70-200 ms, the p95 tail of benchmarks/tickets.py (see
# benchmarks/RESULTS.md).
_warm_up()
gc.collect()
gc.freeze()
