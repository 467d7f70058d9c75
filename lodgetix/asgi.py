"""ASGI entry point: HTTP and the live WebSocket (docs/design.md §4)."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lodgetix.settings")
# Populate the app registry before importing consumers and models.
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.conf import settings  # noqa: E402

from common.one_thread import http_on_one_thread  # noqa: E402
from common.origins import SameOriginValidator  # noqa: E402
from common.server_tasks import ServerProcess  # noqa: E402
from lodgetix.routing import websocket_urlpatterns  # noqa: E402
from lodgetix.wsgi import application as wsgi_application  # noqa: E402
from outbox.loop import send_outbox_forever  # noqa: E402
from tickets.live.publisher import bind_publisher_to_server_loop  # noqa: E402
from tickets.live.registry import keep_socket_entries_fresh_forever  # noqa: E402
from tickets.sweeper import sweep_expired_holds_forever  # noqa: E402

# Sessions and users on the socket as on pages; only pages of this site (same scheme, host
# and port) or CSRF_TRUSTED_ORIGINS may open one.
websocket_app = SameOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns)))

# On SQLite (the embedded default) HTTP runs one request at a time on one thread, in
# arrival order, through the WSGI app gunicorn serves in production (common/one_thread.py);
# HTTP_ON_ONE_THREAD.
http_app = http_on_one_thread(wsgi_application) if settings.HTTP_ON_ONE_THREAD else django_asgi_app

application = ServerProcess(
    ProtocolTypeRouter({"http": http_app, "websocket": websocket_app}),
    tasks=[
        bind_publisher_to_server_loop,
        keep_socket_entries_fresh_forever,
        # Where the sweeper runs, the sender runs (with Redis: release_expired_holds --loop).
        *(
            [sweep_expired_holds_forever, send_outbox_forever]
            if settings.HOLD_SWEEPER_IN_SERVER
            else []
        ),
    ],
)
