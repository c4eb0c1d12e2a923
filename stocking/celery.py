import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "stocking.settings.base")

app = Celery("stocking")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
