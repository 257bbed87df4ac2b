from django.apps import AppConfig


class AnalyticsConfig(AppConfig):
    name = "analytics"
    verbose_name = "Analytics"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Orders and catalog publish their changes through the kernel's events (they never import analytics);
        # the daily rollups follow them inside the publisher's transaction (analytics.rollups).
        from analytics import rollups

        rollups.subscribe()
