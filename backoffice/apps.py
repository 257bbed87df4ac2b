from django.apps import AppConfig


class BackofficeConfig(AppConfig):
    name = "backoffice"
    verbose_name = "Back-office kernel"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from backoffice.tenancy.zones import connect_task_signals

        # Every task that names its shop (``shop_id=``) runs in that shop's time zone, in the worker too.
        connect_task_signals()
