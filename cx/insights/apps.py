from datetime import timedelta

from django.apps import AppConfig

from cx.core.navigation import NavItem


class InsightsConfig(AppConfig):
    name = "cx.insights"
    label = "insights"
    verbose_name = "Insights"
    nav_item = NavItem(label="Insights", url_name="insights:index", order=80,
                       roles=("admin", "team_lead", "analyst"))

    def ready(self) -> None:
        from cx.core.periodic import register_periodic_job
        from cx.insights.services import digest_schedule

        # Hourly: the first run after Monday 00:00 queues last week's digest; later runs find it queued.
        register_periodic_job(name="insights.weekly_digest", every=timedelta(hours=1), run=digest_schedule)
