import logging
import signal

from django.core.management.base import BaseCommand

from trading.matcher import Matcher

logger = logging.getLogger(__name__)


class Command(BaseCommand):
    help = "Fill resting limit/stop orders as prices on the Redis channel stock:ticks cross them."

    def handle(self, *args, **options):
        matcher = Matcher()

        def stop(signum, frame):
            logger.info("matcher: signal %s, stopping", signum)
            matcher.stop.set()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        logger.info("matcher: listening on stock:ticks")
        matcher.run()
        logger.info("matcher: stopped (%s)", matcher.stats)
