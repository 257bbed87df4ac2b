"""Base classes for shop pages: the shop from the URL, membership (404), 2FA, the action (403), and the
shop's time zone for everything the page shows and every day it is given."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import ImproperlyConfigured, PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django_htmx.http import HttpResponseClientRedirect

from backoffice import once
from backoffice.authz import Actor, can, load_actor, restrict, two_factor_required
from backoffice.errors import Conflict, Forbidden, NotFound, ServiceError
from backoffice.tenancy.refs import path_ids_or_404
from backoffice.tenancy.zones import finish_in_zone, shop_zone

ANY_MEMBER = "__any_member__"


class ShopPageMixin(LoginRequiredMixin):
    """Every page under ``/shops/<shop>/`` inherits this; ``required_action`` is mandatory."""

    required_action: str | None = None
    # Per-method overrides, e.g. {"POST": "accounts.manage_staff"}.
    required_actions_by_method: dict[str, str] = {}
    allow_without_2fa = False
    # A page whose POST creates something sets this: the POST must carry the form's one-time token
    # ({% once_token %}), so a double click or a resent form creates one thing (backoffice/once.py).
    one_time_post = False

    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        path_ids_or_404(kwargs)
        actor = load_actor(request.user, int(kwargs["shop"]))
        if actor is None:
            raise Http404("No such shop")
        request.actor = self.actor = actor
        self.shop = shop = actor.shop
        if not self.allow_without_2fa and two_factor_required()(actor):
            return redirect(reverse("accounts:security") + f"?required_by={shop.pk}")
        action = self.required_actions_by_method.get(request.method, self.required_action)
        if action is None:
            raise ImproperlyConfigured(f"{type(self).__name__} must name its required_action")
        if action != ANY_MEMBER and not can(actor, action):
            raise PermissionDenied
        # Times shown, and days named in filters, are the shop's: its zone is active for the view and what
        # the view leaves to be produced later (a template response, a streamed download), and whatever was
        # active before (nothing, in a server) is back afterwards, so no zone leaks into the next request.
        zone = shop_zone(shop)
        with timezone.override(zone):
            claim = None
            if request.method == "POST" and self.needs_one_time_token():
                # After the membership and action checks: a stranger still gets 404/403, not a word on tokens.
                claim = once.claim(request, back=same_site_referer(request) or self.refusal_back_url())
                if not isinstance(claim, once.Claim):
                    return finish_in_zone(claim, zone)
            response = None
            try:
                response = super().dispatch(request, *args, **kwargs)
            except ServiceError as exc:
                response = refusal_response(request, exc, back=self.refusal_back_url())
            finally:
                if claim is not None:
                    claim.settle(response)  # None when the view raised: released, nothing was done
            return finish_in_zone(response, zone)

    def needs_one_time_token(self) -> bool:
        """Whether this POST must carry a one-time token; a view creating on one URL only narrows it."""
        return self.one_time_post

    def refusal_back_url(self) -> str:
        """Where the refusal page's Back button leads when the request came from no page of ours."""
        return reverse("home")

    def scoped(self, model, action: str | None = None):
        """A queryset of ``model`` in this shop, narrowed to what the actor may do."""
        qs = model.objects.for_shop(self.shop)
        action = action or self.required_action
        return qs if action == ANY_MEMBER else restrict(qs, self.actor, action)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["actor"] = self.actor
        context["shop"] = self.shop
        return context


def refusal_response(request, exc: ServiceError, *, back: str | None = None):
    """A refused action (a page lets the service's ServiceError through) or a bad filter: the reason in
    words and a 4xx, never a 500 and never a silent redirect. A list with a bad filter goes back to the list
    without its filters, saying which filter was wrong (there is no form field to put the error on)."""
    named = [f"{field}: {' '.join(map(str, problems))}" for field, problems in (exc.fields or {}).items()]
    if request.method == "GET" and request.GET:
        messages.error(request, "; ".join(named) or exc.message)
        return redirect(request.path)
    status = {NotFound: 404, Forbidden: 403, Conflict: 409}.get(type(exc), 400)
    context = {"message": exc.message, "fields": named, "back": same_site_referer(request) or back or "/"}
    return render(request, "400.html", context, status=status)


def reload_page(request, to: str):
    """Send the browser to ``to``. An htmx partial update is told to load the whole page instead: a redirect
    followed inside the partial would swap in the unfiltered rows and leave the message for some later page."""
    if getattr(request, "htmx", False):
        return HttpResponseClientRedirect(to)
    return redirect(to)


def same_site_referer(request) -> str | None:
    """The page a form was posted from, when it is one of ours (the refusal page's Back button)."""
    referer = request.headers.get("Referer", "")
    if referer and url_has_allowed_host_and_scheme(referer, {request.get_host()}, require_https=request.is_secure()):
        return referer
    return None


def actor_for(request) -> Actor | None:
    return getattr(request, "actor", None)
