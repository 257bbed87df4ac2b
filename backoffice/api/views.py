"""Base classes every shop API view inherits, so none can forget the shop or the permission check.

- the shop comes from the URL, and the caller must be an active member of it (else 404);
- each viewset action names the catalog action it needs (``action_permissions``); an action
  that is not named is refused (fail closed);
- querysets are built from the resolved shop and narrowed by ``restrict``;
- POSTs honour ``Idempotency-Key``;
- the shop's time zone is active once the shop is known: datetimes come out in ISO 8601 with the shop's
  offset, and a day in a filter (``date_from=2026-03-02``) is the shop's day.
"""

from __future__ import annotations

import hashlib
import json
from typing import NoReturn

from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.http import Http404
from django.utils import timezone
from django.utils.crypto import salted_hmac
from rest_framework import permissions, viewsets
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response
from rest_framework.views import APIView

from backoffice.authz import Actor, can, load_actor, restrict, system_actor, tenant_model, two_factor_required
from backoffice.errors import Conflict
from backoffice.models import IdempotencyKey
from backoffice.tenancy.refs import path_ids_or_404
from backoffice.tenancy.zones import finish_in_zone, shop_zone

ANY_MEMBER = "__any_member__"


class IsPlatformStaff(permissions.BasePermission):
    """The marketplace side (moderation, integration connectors): an active platform staff user."""

    message = "Only platform staff may use this endpoint."

    def has_permission(self, request, view) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and user.is_active and user.is_staff)


class ShopActionPermission(permissions.BasePermission):
    def has_permission(self, request, view) -> bool:
        action = view.required_action()
        return action == ANY_MEMBER or can(request.actor, action)

    def has_object_permission(self, request, view, obj) -> bool:
        action = view.required_action()
        return action == ANY_MEMBER or can(request.actor, action, obj)


class _Replay(Exception):
    def __init__(self, response):
        self.response = response


def _request_fingerprint(request) -> str:
    """A digest of what a POST asks for (path and parsed body, key order and encoding aside; an upload by
    its name and content), so that a key reused for another request is told apart from a retry. Keyed
    with SECRET_KEY: a body may hold a password, and a plain hash of it could be guessed offline."""

    def jsonable(value):
        if isinstance(value, UploadedFile):
            content = hashlib.sha256()
            for chunk in value.chunks():
                content.update(chunk)
            value.seek(0)
            return f"file:{value.name}:{value.size}:{content.hexdigest()}"
        return str(value)

    data = request.data
    if hasattr(data, "lists"):  # a form or multipart body (QueryDict): every value of every key
        data = dict(sorted(data.lists()))
    body = json.dumps(data, sort_keys=True, default=jsonable, separators=(",", ":"))
    return salted_hmac("backoffice.idempotency", f"{request.path}\0{body}", algorithm="sha256").hexdigest()


class IdempotentPostMixin:
    """Honours ``Idempotency-Key`` on POST (per user):

    - the first request with a key runs, and its answer (below 500) is stored;
    - a retry with the same key, path and body gets that answer back (``Idempotent-Replay: true``), or 409
      ``idempotency_in_progress`` while the first is still running (retry later);
    - the same key with another path or body is 409 ``idempotency_key_reused``, at any time;
    - a first request that fails (an error answer raised, or a 5xx) gives the key back for a retry.
    """

    def _idempotency_key(self, request) -> str | None:
        if request.method != "POST" or not request.user.is_authenticated:
            return None
        return request.headers.get("Idempotency-Key") or None

    @staticmethod
    def _idempotency_answer(record: IdempotencyKey | None, request, fingerprint: str) -> NoReturn:
        """What a request whose key is already taken gets: always an exception (the replay too)."""
        if record is None:
            # The first attempt failed and gave the key back a moment ago: the retry may try again.
            raise Conflict(
                "A request with this Idempotency-Key is still being processed.", code="idempotency_in_progress"
            )
        # An older record has no fingerprint: its path is all we can compare.
        if record.path != request.path[:512] or (record.fingerprint and record.fingerprint != fingerprint):
            raise Conflict("This Idempotency-Key was used for another request.", code="idempotency_key_reused")
        if record.status_code is None:
            raise Conflict(
                "A request with this Idempotency-Key is still being processed.", code="idempotency_in_progress"
            )
        raise _Replay(Response(record.response_body, status=record.status_code, headers={"Idempotent-Replay": "true"}))

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        key = self._idempotency_key(request)
        self._idempotency_record = None
        if key is None:
            return
        key = key[:255]
        fingerprint = _request_fingerprint(request)
        records = IdempotencyKey.objects.filter(user=request.user, key=key)
        record = records.first()
        if record is not None:
            self._idempotency_answer(record, request, fingerprint)
        try:
            # Committed at once (requests are not atomic): a concurrent twin sees it, or waits on the unique
            # index until it is committed and then reads it below.
            with transaction.atomic():
                self._idempotency_record = IdempotencyKey.objects.create(
                    user=request.user, key=key, method="POST", path=request.path[:512], fingerprint=fingerprint
                )
        except IntegrityError:
            self._idempotency_answer(records.first(), request, fingerprint)

    def handle_exception(self, exc):
        if isinstance(exc, _Replay):
            return exc.response
        record = getattr(self, "_idempotency_record", None)
        if record is not None:
            # A failed first attempt may be retried with the same key.
            record.delete()
            self._idempotency_record = None
        return super().handle_exception(exc)

    def finalize_response(self, request, response, *args, **kwargs):
        record = getattr(self, "_idempotency_record", None)
        if record is not None:
            if response.status_code < 500:
                record.status_code = response.status_code
                record.response_body = getattr(response, "data", None)
                record.save(update_fields=["status_code", "response_body"])
            else:
                # Not an answer to replay: without this the key would stay "in progress" for ever.
                record.delete()
            self._idempotency_record = None
        return super().finalize_response(request, response, *args, **kwargs)


class IntegrationView(IdempotentPostMixin, APIView):
    """An integration endpoint under /api/v1/integration/shops/{shop}/: platform staff tokens only, acting as
    the shop's system actor for the platform user who calls (a shop that does not exist is a 404)."""

    permission_classes = [permissions.IsAuthenticated, IsPlatformStaff]

    def get_actor(self, shop_id: int) -> Actor:
        shop = tenant_model().objects.filter(pk=shop_id).first()
        if shop is None:
            raise Http404
        return system_actor(shop, user=self.request.user)


class ShopScopedViewMixin(IdempotentPostMixin):
    """Resolves ``self.shop`` and ``request.actor`` from the ``shop`` URL kwarg."""

    permission_classes = [permissions.IsAuthenticated, ShopActionPermission]
    # viewset action -> catalog action (or ANY_MEMBER); anything missing is refused.
    action_permissions: dict[str, str] = {}
    model = None
    lookup_value_regex = "[0-9]+"

    def required_action(self) -> str | None:
        name = getattr(self, "action", None)
        if name is None or name == "metadata":
            # A method the view does not offer: membership is still checked, then DRF answers 405.
            return ANY_MEMBER
        try:
            return self.action_permissions[name]
        except KeyError:
            raise PermissionDenied(f"'{name}' is not open to shop members.") from None

    def check_permissions(self, request):
        # Authentication first (401), then membership of the shop in the URL (404), then 2FA, then the action.
        for permission in self.get_permissions():
            if isinstance(permission, ShopActionPermission):
                self._resolve_shop(request)
            if not permission.has_permission(request, self):
                self.permission_denied(
                    request, message=getattr(permission, "message", None), code=getattr(permission, "code", None)
                )

    def dispatch(self, request, *args, **kwargs):
        # The shop's zone is activated by ``_resolve_shop`` once the membership is known; whatever was active
        # before (nothing, in a server) is back when the answer leaves, so no zone leaks into the next request.
        self._shop_zone = None
        with timezone.override(None):
            response = super().dispatch(request, *args, **kwargs)
            return response if self._shop_zone is None else finish_in_zone(response, self._shop_zone)

    def _resolve_shop(self, request) -> None:
        if getattr(request, "actor", None) is not None:
            return
        # The shop is read together with the membership: a shop you are not a member of is a 404.
        path_ids_or_404(self.kwargs)
        actor = load_actor(request.user, int(self.kwargs["shop"]))
        if actor is None:
            raise Http404
        request.actor = actor
        self.shop = actor.shop
        # Inside dispatch's override: put back when the answer leaves.
        self._shop_zone = shop_zone(actor.shop)
        timezone.activate(self._shop_zone)
        if two_factor_required()(actor):
            raise PermissionDenied(
                "This shop requires two-factor authentication for your role: enrol first.", code="2fa_required"
            )

    @property
    def actor(self) -> Actor:
        return self.request.actor

    def base_queryset(self):
        return self.model.objects.for_shop(self.shop)

    def get_object(self):
        # A route without an object (a list-level action asked for its OPTIONS, say) has nothing to find.
        if (self.lookup_url_kwarg or self.lookup_field) not in self.kwargs:
            raise Http404
        return super().get_object()

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return self.model.unscoped.none()
        qs = self.base_queryset()
        action = self.required_action()
        return qs if action == ANY_MEMBER else restrict(qs, self.actor, action)

    def get_serializer_context(self):
        context = super().get_serializer_context()
        context["actor"] = getattr(self.request, "actor", None)
        return context

    def initial(self, request, *args, **kwargs):
        request.actor = None
        super().initial(request, *args, **kwargs)


class ShopViewSet(ShopScopedViewMixin, viewsets.GenericViewSet):
    """Base for shop resources; subclasses add the list/retrieve/... mixins they offer."""
