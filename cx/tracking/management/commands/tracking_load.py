"""`cxdesk tracking_load`: move spooled events into the analytics store now (the scheduler does it every 5 s)."""

from django.core.management.base import BaseCommand

from cx.tracking.loader import load_all


class Command(BaseCommand):
    help = "Load spooled tracking events and new touchpoints into the analytics store until nothing is pending."

    def handle(self, *args, **options):
        totals = load_all()
        self.stdout.write(" ".join(f"{k}={v}" for k, v in totals.items()))
