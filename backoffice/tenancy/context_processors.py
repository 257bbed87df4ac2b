def shop_context(request):
    """Expose the resolved shop and actor (set by the shop view mixin) to templates."""
    actor = getattr(request, "actor", None)
    memberships = []
    if getattr(request, "user", None) is not None and request.user.is_authenticated:
        from accounts.selectors import membership_list_for_user

        memberships = membership_list_for_user(user=request.user)
    return {"actor": actor, "shop": getattr(actor, "shop", None), "my_memberships": memberships}
