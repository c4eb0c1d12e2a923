from celery import shared_task

from trading.services import orders_expire


@shared_task
def expire_day_orders() -> int:
    return orders_expire()
