from celery import shared_task

from marketdata.relay.config import RelayConfig
from marketdata.relay.runner import run_relay as run_relay_loop


@shared_task(name="marketdata.run_relay")
def run_relay(source: str | None = None, max_seconds: float | None = None) -> dict:
    """The relay loop of `manage.py run_relay`, for deployments that run it under a Celery worker.

    It runs until the feed ends or `max_seconds` pass; give it a dedicated worker (one per deployment).
    """
    return run_relay_loop(config=RelayConfig.from_settings(source=source), max_seconds=max_seconds).as_dict()
