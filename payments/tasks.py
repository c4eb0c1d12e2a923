from celery import shared_task

from payments.services import payments_reconcile


@shared_task
def reconcile_pending_payments() -> dict[str, int]:
    """Beat, every 5 minutes (CELERY_BEAT_SCHEDULE): ask PortOne again about payments stuck in READY/PAY_PENDING."""
    return payments_reconcile()
