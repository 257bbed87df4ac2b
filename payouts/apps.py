from django.apps import AppConfig


class PayoutsConfig(AppConfig):
    name = "payouts"
    verbose_name = "Payouts"  # a translated label comes with the pages
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Orders publishes its events through the kernel's hook (orders never imports payouts); the ledger
        # books them inside the order's own transaction (payouts.services.events).
        from backoffice import events as kernel_events
        from payouts.services import events

        kernel_events.subscribe("order.delivered", events.on_order_delivered)
        kernel_events.subscribe("order.refunded", events.on_order_refunded)
