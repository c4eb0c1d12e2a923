import logging
import signal

from django.core.management.base import BaseCommand

from trading.matcher import LEADER_KEY, Matcher

logger = logging.getLogger(__name__)


class Command(BaseCommand):
    help = (
        "Fill resting limit/stop orders as prices on the Redis channel stock:ticks cross them. "
        f"A second run_matcher waits on the Redis lock {LEADER_KEY} as a standby."
    )

    def handle(self, *args, **options):
        matcher = Matcher()

        def stop(signum, frame):
            logger.info("matcher: signal %s, stopping", signum)
            matcher.stop.set()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        logger.info("matcher: starting; matches stock:ticks while it holds %s", LEADER_KEY)
        matcher.run()
        logger.info("matcher: stopped (%s)", matcher.stats)
