from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from accounts.models import ApiToken
from backoffice.authz import cache as access_cache


class PersonalTokenAuthentication(authentication.TokenAuthentication):
    """``Authorization: Token <key>`` with hashed, expiring, per-user personal tokens."""

    model = ApiToken

    def authenticate_credentials(self, key):
        key_hash = ApiToken.hash_key(key)
        token = access_cache.token_for_hash(
            key_hash, lambda: ApiToken.objects.select_related("user").filter(key_hash=key_hash).first()
        )
        if token is None or token.is_expired:
            raise exceptions.AuthenticationFailed(_("Invalid or expired token."))
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed(_("User inactive or deleted."))
        now = timezone.now()
        # Write last use at most once a minute: a busy integration must not write on every call.
        if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
            token.last_used_at = now
            access_cache.token_touched(token)
        return token.user, token


class PersonalTokenScheme(OpenApiAuthenticationExtension):
    target_class = "accounts.authentication.PersonalTokenAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema):
        return {"type": "apiKey", "in": "header", "name": "Authorization", "description": "Token <key>"}
