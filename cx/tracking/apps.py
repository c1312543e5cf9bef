from datetime import timedelta

from django.apps import AppConfig

from cx.core.navigation import NavItem


class TrackingConfig(AppConfig):
    name = "cx.tracking"
    label = "tracking"
    verbose_name = "Tracking (Segment-compatible event ingest)"
    nav_item = NavItem(label="Sources", url_name="tracking:sources", order=75, admin_only=True)

    def ready(self) -> None:
        from cx.core.periodic import register_periodic_job
        from cx.customers.registry import register_customer_data_handler
        from cx.tracking.identity import ProfileDataHandler
        from cx.tracking.loader import load_periodic

        register_customer_data_handler(ProfileDataHandler())
        # The loader moves spooled events into the analytics store; it holds a file lock, so a slow run
        # and the next tick never overlap.
        register_periodic_job(name="tracking.load", every=timedelta(seconds=5), run=load_periodic)
