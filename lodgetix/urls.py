from django.contrib import admin
from django.urls import include, path

from common import health

urlpatterns = [
    # For load balancers: liveness (no database) and readiness (database, Redis, sweeper).
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("admin/", admin.site.urls),
    path("analytics/", include("analytics.urls")),
    path("", include("tickets.urls")),
]

# Any unhandled exception: 503 "try again" when the database is away, else the friendly
# 500 page (templates/500.html, 503.html).
handler500 = "common.unavailable.server_error"
