from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PromotionsConfig(AppConfig):
    name = "promotions"
    verbose_name = _("Promotions and ads")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Order intake prices through the kernel's pricing hook; this app is its provider (orders never
        # imports promotions).
        from backoffice import pricing
        from promotions.services.quoting import PromotionPricing

        pricing.register(PromotionPricing())
