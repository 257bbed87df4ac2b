"""The analytics app's models, one module per part (rollups, report runs, schedules, storefront events)."""

from analytics.models.rollups import *  # noqa: F403
from analytics.models.runs import *  # noqa: F403
from analytics.models.schedules import *  # noqa: F403
from analytics.models.storefront import *  # noqa: F403
