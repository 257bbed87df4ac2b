import os

from celery import Celery
from celery.signals import worker_process_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backoffice.settings")

app = Celery("backoffice")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_process_init.connect
def _settle_worker_memory(**_kwargs) -> None:
    """Each worker process, once Django is set up: see ``backoffice.runtime.settle_memory``."""
    from backoffice.runtime import settle_memory

    settle_memory()
