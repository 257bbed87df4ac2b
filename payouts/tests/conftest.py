import pytest

from backoffice import events as kernel_events
from payouts.services import events as payout_events


@pytest.fixture
def without_payouts_events():
    """Orders' events are not heard (payouts not installed yet, or an event lost): the test books them itself."""
    handlers = [("order.delivered", payout_events.on_order_delivered),
                ("order.refunded", payout_events.on_order_refunded)]  # fmt: skip
    for name, handler in handlers:
        kernel_events.unsubscribe(name, handler)
    yield
    for name, handler in handlers:
        kernel_events.subscribe(name, handler)
