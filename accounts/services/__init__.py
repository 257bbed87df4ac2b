"""Writes for accounts, one module per sub-domain: ``shops``, ``roles``, ``staff``, ``security`` (the
user's own account) and ``notifications``. Each function is one use case in one transaction, with one
audit entry. Shop services take ``*, actor`` (a member's Actor or ``system_actor(shop)``; the shop is
``actor.shop``) and check their own action with ``require``; a bare User raises ``TypeError``. Sign-up,
opening a shop and the services of a user's own account (tokens, sessions, password, 2FA) act outside
any shop and take the ``user``.

Everything is re-exported here, so callers write ``from accounts import services``.
"""

from accounts.services._common import normalize_username
from accounts.services.notifications import (
    Notice,
    notification_preferences_set,
    notifications_mark_read,
    notifications_send,
)
from accounts.services.roles import role_create, role_update
from accounts.services.security import (
    password_change,
    session_forget,
    session_record,
    session_rekey,
    session_revoke,
    token_create,
    token_revoke,
    totp_confirm,
    totp_disable,
    totp_start_enrolment,
)
from accounts.services.shops import SHOP_SETTINGS_FIELDS, shop_open, shop_set_tier, shop_signup, shop_update
from accounts.services.staff import (
    EXPIRY_NOTICE,
    staff_create,
    staff_deactivate,
    staff_expire_due,
    staff_expiry_notify,
    staff_first_password,
    staff_reactivate,
    staff_update,
)

__all__ = [
    "EXPIRY_NOTICE",
    "SHOP_SETTINGS_FIELDS",
    "Notice",
    "notification_preferences_set",
    "notifications_mark_read",
    "normalize_username",
    "notifications_send",
    "password_change",
    "role_create",
    "role_update",
    "session_forget",
    "session_record",
    "session_rekey",
    "session_revoke",
    "shop_open",
    "shop_set_tier",
    "shop_signup",
    "shop_update",
    "staff_create",
    "staff_deactivate",
    "staff_expire_due",
    "staff_expiry_notify",
    "staff_first_password",
    "staff_reactivate",
    "staff_update",
    "token_create",
    "token_revoke",
    "totp_confirm",
    "totp_disable",
    "totp_start_enrolment",
]
