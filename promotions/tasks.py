"""Celery tasks of the promotions app: ids in, one service call as the shop's system actor, nothing else. Each is
safe to run twice."""

from celery import shared_task

from backoffice.authz import system_actor, tenant_model
from backoffice.jobs import fan_out
from promotions import effect
from promotions.services import guardrails


@shared_task(name="promotions.tasks.refresh_promotion_effects")
def refresh_promotion_effects() -> int:
    """Periodic (beat): queue an effect refresh for every shop with a promotion running or recently ended."""
    return fan_out("promotions.tasks.refresh_promotion_effects_for_shop", effect.shops_with_effects_to_refresh())


@shared_task(name="promotions.tasks.refresh_promotion_effects_for_shop")
def refresh_promotion_effects_for_shop(*, shop_id: int) -> int:
    """Recompute the effect snapshots of one shop's running and recently ended promotions; returns how many."""
    return effect.promotion_effects_refresh(actor=system_actor(tenant_model().objects.get(pk=shop_id)))


# -- the beat at window start and end (promotions.services.guardrails) ---------------------------------------
@shared_task(name="promotions.tasks.apply_promotion_windows")
def apply_promotion_windows() -> int:
    """Periodic (beat): queue the window work for every shop with a promotion or ad campaign starting or ending."""
    return fan_out("promotions.tasks.apply_promotion_windows_for_shop", guardrails.windows_due_shops())


@shared_task(name="promotions.tasks.apply_promotion_windows_for_shop")
def apply_promotion_windows_for_shop(*, shop_id: int) -> dict:
    """End what is past its window, announce what started since the last run, clear ad rests of past days."""
    return guardrails.promotion_windows_apply(actor=system_actor(tenant_model().objects.get(pk=shop_id)))
