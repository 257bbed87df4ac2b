"""What the base layout shows of the signed-in member: their shops (the switcher) and unread notices."""

from accounts.selectors import membership_list_for_user, notification_unread_count


def member_context(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"my_memberships": [], "unread_notifications": 0}
    actor = getattr(request, "actor", None)
    return {
        "my_memberships": membership_list_for_user(user=user),
        "unread_notifications": notification_unread_count(shop=actor.shop, actor=actor) if actor is not None else 0,
    }
