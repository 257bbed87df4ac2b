"""Browser pages for accounts. Thin: forms check shape, services do the work."""

from __future__ import annotations

import base64
import io
from urllib.parse import urlencode

import qrcode
import qrcode.image.svg
from django.contrib import messages
from django.contrib.auth import authenticate, login, logout
from django.core.paginator import Paginator
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views import View
from django.views.decorators.http import require_POST
from django_otp import login as otp_login

from accounts import security, selectors, services
from accounts.models import Membership, Role
from accounts.web import forms as f
from accounts.web import history
from backoffice.authz.actions import ACTIONS
from backoffice.dashboard import cards_for, panels_for
from backoffice.errors import ServiceError
from backoffice.forms import apply_service_error
from backoffice.middleware import client_ip
from backoffice.parsing import parse_id, parse_optional_id
from backoffice.tenancy.refs import ref_in_shop
from backoffice.web import ANY_MEMBER, ShopPageMixin

PAGE_SIZE = 25
PENDING_2FA_KEY = "pending_2fa_user"
# A login whose password someone else chose: {"user": pk, "device": the pk of the OTP device it passed, or None}.
PENDING_PASSWORD_KEY = "pending_password_choice"


def _safe_next(request, default: str) -> str:
    nxt = request.POST.get("next") or request.GET.get("next")
    if nxt and url_has_allowed_host_and_scheme(nxt, {request.get_host()}, require_https=request.is_secure()):
        return nxt
    return default


def _refused(exc: ServiceError | None) -> int:
    """The status of a form page shown again: 400 for input the form or the service refused, else the
    refusal's own (403 not allowed, e.g. a member who is not your report; 404; 409 e.g. the staff quota)."""
    return 400 if exc is None else exc.status_code


def _login(request, user, device=None) -> None:
    login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    if device is not None:
        otp_login(request, device)
    services.session_record(
        user=user, session_key=request.session.session_key, ip=client_ip(request),
        user_agent=request.META.get("HTTP_USER_AGENT", ""),
    )  # fmt: skip


def _finish_login(request, user, device=None):
    """Log the user in and send them on; a user whose password someone else chose (a new sub-account) is
    not logged in yet: they choose their own password first (``PasswordChooseView``), then are logged in."""
    if user.must_change_password:
        request.session[PENDING_PASSWORD_KEY] = {
            "user": user.pk, "device": device.pk if device is not None else None,
        }  # fmt: skip
        return redirect(reverse("accounts:password_choose") + "?" + urlencode({"next": _safe_next(request, "/")}))
    _login(request, user, device)
    return HttpResponseRedirect(_safe_next(request, "/"))


def home(request):
    if not request.user.is_authenticated:
        return redirect("accounts:login")
    memberships = selectors.membership_list_for_user(user=request.user)
    # The shop switcher's Apply button (without JavaScript) asks for ?shop=<id>: one of the member's own shops.
    chosen = request.GET.get("shop", "")
    for membership in memberships:
        if chosen and str(membership.shop_id) == chosen:
            return redirect("accounts:dashboard", shop=membership.shop_id)
    if len(memberships) >= 1:
        return redirect("accounts:dashboard", shop=memberships[0].shop_id)
    return render(request, "accounts/no_shop.html")


class LoginView(View):
    template = "accounts/login.html"

    def get(self, request):
        return render(request, self.template, {"form": f.LoginForm()})

    def post(self, request):
        form = f.LoginForm(request.POST)
        if form.is_valid():
            user = authenticate(request, **form.cleaned_data)
            if getattr(request, "axes_locked_out", False):
                return security.lockout_response(request)
            if user is None:
                form.add_error(None, _("Wrong username or password."))
            elif security.has_2fa(user):
                request.session[PENDING_2FA_KEY] = user.pk
                return redirect(reverse("accounts:login_otp") + "?" + urlencode({"next": _safe_next(request, "/")}))
            else:
                return _finish_login(request, user)
        return render(request, self.template, {"form": form}, status=400)


class LoginOtpView(View):
    template = "accounts/login_otp.html"

    def _pending_user(self, request):
        return selectors.active_user(pk=request.session.get(PENDING_2FA_KEY))

    def get(self, request):
        if self._pending_user(request) is None:
            return redirect("accounts:login")
        return render(request, self.template, {"form": f.OtpForm()})

    def post(self, request):
        from django.contrib.auth.signals import user_login_failed

        user = self._pending_user(request)
        if user is None:
            return redirect("accounts:login")
        form = f.OtpForm(request.POST)
        if form.is_valid():
            device = security.confirmed_device(user)
            if device is not None and device.verify_token(form.cleaned_data["otp"].strip()):
                del request.session[PENDING_2FA_KEY]
                return _finish_login(request, user, device)
            user_login_failed.send(sender=__name__, credentials={"username": user.username}, request=request)
            if getattr(request, "axes_locked_out", False):
                return security.lockout_response(request)
            form.add_error("otp", _("That code is not right."))
        return render(request, self.template, {"form": form}, status=400)


class PasswordChooseView(View):
    """The first login of a sub-account: the password (and code) were right, but someone else chose that
    password; the person chooses their own before they are logged in, so no page is reachable before."""

    template = "accounts/password_choose.html"

    def _pending(self, request):
        pending = request.session.get(PENDING_PASSWORD_KEY)
        if not isinstance(pending, dict):
            return None, None
        user = selectors.active_user(pk=pending.get("user"))
        if user is None or not user.must_change_password:
            return None, None
        device = security.confirmed_device(user) if pending.get("device") else None
        if device is not None and device.pk != pending["device"]:
            device = None  # the device changed meanwhile: the login counts as without a second factor
        return user, device

    def get(self, request):
        user, _device = self._pending(request)
        if user is None:
            return redirect("accounts:login")
        form = f.PasswordChooseForm()
        return render(request, self.template, {"form": form, "pending_user": user, "next": _safe_next(request, "/")})

    def post(self, request):
        user, device = self._pending(request)
        if user is None:
            return redirect("accounts:login")
        form = f.PasswordChooseForm(request.POST)
        refusal = None
        if form.is_valid():
            try:
                user = services.staff_first_password(user=user, new_password=form.cleaned_data["new_password"])
            except ServiceError as exc:
                apply_service_error(form, exc)
                refusal = exc
            else:
                del request.session[PENDING_PASSWORD_KEY]
                _login(request, user, device)
                messages.success(request, _("Your password is set. Welcome!"))
                return HttpResponseRedirect(_safe_next(request, "/"))
        context = {"form": form, "pending_user": user, "next": _safe_next(request, "/")}
        return render(request, self.template, context, status=_refused(refusal))


@require_POST
def logout_view(request):
    services.session_forget(session_key=request.session.session_key)
    logout(request)
    return redirect("accounts:login")


class SignupView(View):
    template = "accounts/signup.html"

    def get(self, request):
        return render(request, self.template, {"form": f.SignupForm()})

    def post(self, request):
        form = f.SignupForm(request.POST)
        refusal = None
        if form.is_valid():
            try:
                user, shop = services.shop_signup(**form.cleaned_data)
            except ServiceError as exc:
                apply_service_error(form, exc)
                refusal = exc
            else:
                _login(request, user)
                messages.success(request, _("Welcome! Your shop “%(name)s” is ready.") % {"name": shop.name})
                return redirect("accounts:dashboard", shop=shop.pk)
        return render(request, self.template, {"form": form}, status=_refused(refusal))


class OpenShopView(View):
    def get(self, request):
        if not request.user.is_authenticated:
            return redirect("accounts:login")
        return render(request, "accounts/open_shop.html", {"form": f.OpenShopForm()})

    def post(self, request):
        if not request.user.is_authenticated:
            return redirect("accounts:login")
        form = f.OpenShopForm(request.POST)
        refusal = None
        if form.is_valid():
            try:
                shop = services.shop_open(user=request.user, **form.cleaned_data)
            except ServiceError as exc:
                apply_service_error(form, exc)
                refusal = exc
            else:
                return redirect("accounts:dashboard", shop=shop.pk)
        return render(request, "accounts/open_shop.html", {"form": form}, status=_refused(refusal))


class ReauthView(View):
    """Confirm your password or one-time code before sensitive actions."""

    def get(self, request):
        if not request.user.is_authenticated:
            return redirect("accounts:login")
        return render(request, "accounts/reauth.html", {"form": f.ReauthForm(), "next": _safe_next(request, "/")})

    def post(self, request):
        if not request.user.is_authenticated:
            return redirect("accounts:login")
        if security.reauth_locked(request, request.user):
            return security.lockout_response(request)
        form = f.ReauthForm(request.POST)
        if form.is_valid():
            outcome = security.attempt_reauth(request, user=request.user, **form.cleaned_data)
            if outcome is None:
                return security.lockout_response(request)
            if outcome:
                return HttpResponseRedirect(_safe_next(request, "/"))
            form.add_error(None, _("Password or code is wrong."))
        return render(request, "accounts/reauth.html", {"form": form, "next": _safe_next(request, "/")}, status=400)


def _needs_reauth(request):
    if security.recently_reauthenticated(request):
        return None
    return redirect(reverse("accounts:reauth") + "?" + urlencode({"next": request.get_full_path()}))


# Operations of the security page that need a fresh re-authentication with the current factor.
REAUTH_OPS = frozenset({"2fa_start", "2fa_confirm", "token_create", "session_revoke"})
# Operations that take the current password themselves (a guess counted like a failed login).
PASSWORD_OPS = frozenset({"2fa_disable", "password"})
SECURITY_OPS = REAUTH_OPS | PASSWORD_OPS | {"token_revoke"}


class SecurityView(View):
    """Own security: 2FA, password, sessions, tokens."""

    template = "accounts/security.html"
    # The operations that post a form: the context name it is shown under, and its class.
    FORMS = {"2fa_confirm": ("otp_form", f.OtpForm), "password": ("password_form", f.PasswordChangeForm),
             "token_create": ("token_form", f.TokenCreateForm)}  # fmt: skip

    def _context(self, request, **extra):
        user = request.user
        pending = security.pending_device(user)
        qr_svg = None
        if pending is not None:
            img = qrcode.make(pending.config_url, image_factory=qrcode.image.svg.SvgPathImage)
            buf = io.BytesIO()
            img.save(buf)
            qr_svg = base64.b64encode(buf.getvalue()).decode()
        context = {
            "has_2fa": security.has_2fa(user),
            "pending_device": pending,
            "pending_secret": base64.b32encode(pending.bin_key).decode() if pending else None,
            "qr_svg": qr_svg,
            **history.sessions_context(request),  # paginated, with device and last sight
            "tokens": selectors.token_list(user=user)[:50],
            "password_form": f.PasswordChangeForm(),
            "token_form": f.TokenCreateForm(),
            "otp_form": f.OtpForm(),
            "required_by": request.GET.get("required_by"),
        }
        context.update(extra)
        return context

    def get(self, request):
        if not request.user.is_authenticated:
            return redirect("accounts:login")
        return render(request, self.template, self._context(request))

    def post(self, request):
        if not request.user.is_authenticated:
            return redirect("accounts:login")
        op = request.POST.get("op")
        user = request.user
        if op not in SECURITY_OPS:
            messages.error(request, _("Unknown operation."))
            return render(request, self.template, self._context(request), status=400)
        if op in REAUTH_OPS and not security.recently_reauthenticated(request):
            # A session alone (perhaps a stolen one) may not add a factor, mint tokens or end sessions:
            # the current password, or a code of the device already confirmed, first.
            messages.info(request, _("Confirm your password or one-time code first."))
            return redirect(reverse("accounts:reauth") + "?" + urlencode({"next": reverse("accounts:security")}))
        form = None
        if op in self.FORMS:
            name, form_class = self.FORMS[op]
            form = form_class(request.POST)
            if not form.is_valid():
                return render(request, self.template, self._context(request, **{name: form}), status=400)
        if op in PASSWORD_OPS:
            # The password these ops take is a guess like a login's: counted, and refused while locked out
            # (else a stolen session could try passwords here without limit).
            guess = request.POST.get("old_password" if op == "password" else "password", "")
            if security.reauth_locked(request, user) or (
                guess and security.attempt_reauth(request, user=user, password=guess) is None
            ):
                return security.lockout_response(request)
        try:
            extra = self._perform(request, op, form.cleaned_data if form is not None else {})
        except ServiceError as exc:
            if form is not None:
                apply_service_error(form, exc)
                extra = {self.FORMS[op][0]: form}
            else:
                messages.error(request, exc.message)
                extra = {}
            return render(request, self.template, self._context(request, **extra), status=exc.status_code)
        if extra:  # a new token: its key is shown once, on this answer
            return render(request, self.template, self._context(request, **extra))
        return redirect(request.get_full_path())

    def _perform(self, request, op: str, data: dict) -> dict:
        """Do one operation of the page; what the answer must show (a new token's key) comes back."""
        user = request.user
        if op == "2fa_start":
            services.totp_start_enrolment(user=user)
        elif op == "2fa_confirm":
            device = services.totp_confirm(user=user, code=data["otp"])
            otp_login(request, device)
            messages.success(request, _("Two-factor authentication is on."))
        elif op == "2fa_disable":
            services.totp_disable(user=user, password=request.POST.get("password", ""))
            messages.success(request, _("Two-factor authentication is off."))
        elif op == "password":
            from django.contrib.auth import update_session_auth_hash

            services.password_change(user=user, keep_session_key=request.session.session_key, **data)
            old_key = request.session.session_key
            update_session_auth_hash(request, user)  # a new session key: the session list follows it
            services.session_rekey(old_key=old_key, new_key=request.session.session_key)
            messages.success(request, _("Your password was changed."))
        elif op == "token_create":
            _token, key = services.token_create(user=user, **data)
            return {"new_token_key": key}
        elif op == "token_revoke":
            services.token_revoke(user=user, token_id=parse_id(request.POST.get("token_id"), "token_id"))
            messages.success(request, _("Token revoked."))
        elif op == "session_revoke":
            services.session_revoke(user=user, session_id=parse_id(request.POST.get("session_id"), "session_id"))
            messages.success(request, _("Session ended."))
        return {}


class DashboardView(ShopPageMixin, View):
    required_action = ANY_MEMBER

    def get(self, request, shop):
        quota = selectors.staff_quota(shop=self.shop)
        return render(
            request,
            "accounts/dashboard.html",
            {
                "actor": self.actor,
                "shop": self.shop,
                "active_staff": selectors.active_staff_count(shop=self.shop),
                "quota_used": quota.used,
                "quota": quota.limit,
                "my_permissions": [(code, ACTIONS[code].label) for code in sorted(self.actor.permissions)],
                "domain_cards": cards_for(self.actor),
                "domain_panels": panels_for(self.actor),
            },
        )


class StaffListView(ShopPageMixin, View):
    required_action = "accounts.manage_staff"

    def get(self, request, shop):
        qs = selectors.staff_list(shop=self.shop, actor=self.actor, filters=request.GET)
        page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
        quota = selectors.staff_quota(shop=self.shop)
        context = {
            "page": page,
            "roles": selectors.role_list(shop=self.shop),
            "filters": request.GET,
            "querystring": urlencode({k: v for k, v in request.GET.items() if k != "page"}),
            "quota_used": quota.used,
            "quota": quota.limit,
        }
        template = "accounts/_staff_rows.html" if request.htmx else "accounts/staff_list.html"
        return render(request, template, context)


def _staff_form_kwargs(view):
    return {
        "roles": selectors.roles_with_permissions(shop=view.shop),
        "managers": selectors.manager_choices(shop=view.shop, actor=view.actor),
        "grantable": selectors.grantable_actions(actor=view.actor),
        "scopes": selectors.scope_choices(shop=view.shop, actor=view.actor),
    }


def _staff_form_context(form, **extra) -> dict:
    return {"form": form, "role_grants": form.role_grants_data(), "scope_marker": form.SCOPE_MARKER, **extra}


def _role_and_manager(view, data) -> tuple[Role, Membership | None]:
    """The role and manager the staff form names, in this shop (else a 400 on that field)."""
    role = ref_in_shop(Role, actor=view.actor, value=data["role"], field="role")
    manager = ref_in_shop(Membership, actor=view.actor, value=data["manager"], field="manager")
    return role, manager


class StaffCreateView(ShopPageMixin, View):
    required_action = "accounts.manage_staff"
    one_time_post = True
    template = "accounts/staff_form.html"

    def get(self, request, shop):
        if (resp := _needs_reauth(request)) is not None:
            return resp
        initial = {"role": request.GET.get("role"), **f.scope_initial((), {})}
        form = f.StaffForm(initial=initial, **_staff_form_kwargs(self))
        return render(request, self.template, _staff_form_context(form, creating=True))

    def post(self, request, shop):
        if (resp := _needs_reauth(request)) is not None:
            return resp
        form = f.StaffForm(request.POST, **_staff_form_kwargs(self))
        refusal = None
        if form.is_valid():
            data = form.cleaned_data
            try:
                role, manager = _role_and_manager(self, data)
                membership = services.staff_create(
                    actor=self.actor,
                    username=data["username"],
                    email=data["email"],
                    password=data["password"],
                    first_name=data["first_name"],
                    last_name=data["last_name"],
                    role=role,
                    manager=manager,
                    expires_at=data["expires_at"],
                    extra_grants=data["extra_grants"],
                    scopes=data["scopes"],
                    # The owner chose this password: the person chooses their own at their first login.
                    password_change_required=True,
                )
            except ServiceError as exc:
                apply_service_error(form, exc)
                refusal = exc
            else:
                messages.success(request, _("%(user)s was added.") % {"user": membership.user.username})
                return redirect("accounts:staff_list", shop=self.shop.pk)
        return render(request, self.template, _staff_form_context(form, creating=True), status=_refused(refusal))


class StaffDetailView(ShopPageMixin, View):
    required_action = "accounts.manage_staff"
    template = "accounts/staff_detail.html"

    def _member(self, pk):
        return get_object_or_404(self.scoped(Membership).select_related("user", "role", "manager__user"), pk=pk)

    def _context(self, member, form=None, scopes=None):
        extra = selectors.extra_grants(membership=member)
        scopes = selectors.member_scopes(membership=member) if scopes is None else scopes
        if form is None:
            form = f.StaffForm(
                initial={
                    "email": member.user.email, "first_name": member.user.first_name, "last_name": member.user.last_name,
                    "role": str(member.role_id or ""), "manager": str(member.manager_id or ""),
                    "expires_at": member.expires_at, "extra_grants": sorted(extra),
                    **f.scope_initial(member.scope_types or (), scopes),
                },
                editing=True, current_extra=extra, **_staff_form_kwargs(self),
            )  # fmt: skip
        limited = [f.scope_label(key)[0] for key in member.scope_types or () if key in scopes]
        return _staff_form_context(
            form, member=member, access=selectors.access_explained(membership=member), limited_scopes=limited
        )

    def get(self, request, shop, pk):
        return render(request, self.template, self._context(self._member(pk)))

    def post(self, request, shop, pk):
        member = self._member(pk)
        extra = selectors.extra_grants(membership=member)
        form = f.StaffForm(request.POST, editing=True, current_extra=extra, **_staff_form_kwargs(self))
        refusal = None
        if form.is_valid():
            data = form.cleaned_data
            try:
                role, manager = _role_and_manager(self, data)
                scopes = data["scopes"]
                if scopes is not None and _same_scopes(member, scopes):
                    scopes = None  # unchanged: no re-authentication, no rewrite
                grants_change = role.pk != member.role_id or set(data["extra_grants"]) != set(extra)
                if (grants_change or scopes is not None) and (resp := _needs_reauth(request)) is not None:
                    return resp
                services.staff_update(
                    actor=self.actor, membership=member, role=role, extra_grants=data["extra_grants"],
                    manager=manager, expires_at=data["expires_at"], email=data["email"],
                    first_name=data["first_name"], last_name=data["last_name"], scopes=scopes,
                )  # fmt: skip
            except ServiceError as exc:
                apply_service_error(form, exc)
                refusal = exc
            else:
                messages.success(request, _("Changes saved."))
                return redirect("accounts:staff_detail", shop=self.shop.pk, pk=member.pk)
        return render(request, self.template, self._context(member, form), status=_refused(refusal))


def _same_scopes(member: Membership, scopes: dict[str, list[int]]) -> bool:
    current = selectors.member_scopes(membership=member)
    return set(current) == set(scopes) and all(current[k] == frozenset(v) for k, v in scopes.items())


class StaffDeactivateView(ShopPageMixin, View):
    required_action = "accounts.manage_staff"

    def get(self, request, shop, pk):
        member = get_object_or_404(self.scoped(Membership).select_related("user"), pk=pk)
        return render(request, "accounts/staff_deactivate.html", {"member": member})

    def post(self, request, shop, pk):
        member = get_object_or_404(self.scoped(Membership).select_related("user"), pk=pk)
        try:
            services.staff_deactivate(actor=self.actor, membership=member)
        except ServiceError as exc:
            messages.error(request, exc.message)
            return render(request, "accounts/staff_deactivate.html", {"member": member}, status=exc.status_code)
        messages.success(request, _("%(user)s was deactivated.") % {"user": member.user.username})
        return redirect("accounts:staff_list", shop=self.shop.pk)


class StaffReactivateView(ShopPageMixin, View):
    required_action = "accounts.manage_staff"

    def post(self, request, shop, pk):
        member = get_object_or_404(self.scoped(Membership).select_related("user"), pk=pk)
        if (resp := _needs_reauth(request)) is not None:
            return resp
        # A refusal (already active, the quota, not your report) goes to the kernel: its reason and a 4xx.
        services.staff_reactivate(actor=self.actor, membership=member)
        messages.success(request, _("%(user)s is active again.") % {"user": member.user.username})
        return redirect("accounts:staff_detail", shop=self.shop.pk, pk=member.pk)

    def refusal_back_url(self) -> str:
        return reverse("accounts:staff_detail", kwargs={"shop": self.shop.pk, "pk": self.kwargs["pk"]})


class RoleListView(ShopPageMixin, View):
    required_action = "accounts.manage_staff"

    def get(self, request, shop):
        roles = [(role, f.grouped_labels(codes)) for role, codes in selectors.roles_with_permissions(shop=self.shop)]
        return render(request, "accounts/role_list.html", {"roles": roles})


class RoleFormView(ShopPageMixin, View):
    required_action = "accounts.manage_staff"
    template = "accounts/role_form.html"

    def needs_one_time_token(self) -> bool:
        return self.kwargs.get("pk") is None  # creating a role (editing one twice is harmless)

    def _role(self, pk):
        return get_object_or_404(self.scoped(Role), pk=pk) if pk else None

    def get(self, request, shop, pk=None):
        if (resp := _needs_reauth(request)) is not None:
            return resp
        role = self._role(pk)
        initial = {}
        if role is not None:
            initial = {
                "name": role.name,
                "description": role.description,
                "permissions": sorted(selectors.role_permissions(role=role)),
            }
        form = f.RoleForm(initial=initial, grantable=selectors.grantable_actions(actor=self.actor))
        return render(request, self.template, {"form": form, "role": role})

    def post(self, request, shop, pk=None):
        if (resp := _needs_reauth(request)) is not None:
            return resp
        role = self._role(pk)
        form = f.RoleForm(request.POST, grantable=selectors.grantable_actions(actor=self.actor))
        refusal = None
        if form.is_valid():
            try:
                if role is None:
                    services.role_create(actor=self.actor, **form.cleaned_data)
                else:
                    services.role_update(actor=self.actor, role=role, **form.cleaned_data)
            except ServiceError as exc:
                apply_service_error(form, exc)
                refusal = exc
            else:
                messages.success(request, _("Role saved."))
                return redirect("accounts:role_list", shop=self.shop.pk)
        return render(request, self.template, {"form": form, "role": role}, status=_refused(refusal))


class ShopSettingsView(ShopPageMixin, View):
    required_action = "accounts.manage_settings"
    template = "accounts/shop_settings.html"

    def _form(self, data=None):
        choices = [(r.key, r.display_name) for r in selectors.role_list(shop=self.shop)]
        return f.ShopSettingsForm(data, instance=self.shop, role_choices=choices)

    def get(self, request, shop):
        return render(request, self.template, {"form": self._form()})

    def post(self, request, shop):
        form = self._form(request.POST)
        refusal = None
        if form.is_valid():
            changes = {k: form.cleaned_data[k] for k in form.changed_data}
            try:
                services.shop_update(actor=self.actor, **changes)
            except ServiceError as exc:
                apply_service_error(form, exc)
                refusal = exc
            else:
                messages.success(request, _("Settings saved."))
                return redirect("accounts:shop_settings", shop=self.shop.pk)
        return render(request, self.template, {"form": form}, status=_refused(refusal))


class NotificationListView(ShopPageMixin, View):
    """Your notifications in this shop; opening one or "mark all read" clears the header count."""

    required_action = ANY_MEMBER

    def get(self, request, shop):
        unread_only = request.GET.get("unread") == "1"
        qs = selectors.notification_list(shop=self.shop, actor=self.actor, unread_only=unread_only)
        page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
        querystring = urlencode({k: v for k, v in request.GET.items() if k != "page"})
        return render(
            request,
            "accounts/notifications.html",
            {"page": page, "querystring": querystring, "unread_only": unread_only},
        )

    def post(self, request, shop):
        # A bad id, or one that is not your notification here, is the service's refusal (400 / 404).
        note_id = parse_optional_id(request.POST.get("id"), "id")
        ids = [note_id] if note_id is not None else None
        services.notifications_mark_read(actor=self.actor, ids=ids)
        target = request.POST.get("next")
        if ids and target and url_has_allowed_host_and_scheme(target, {request.get_host()}):
            return HttpResponseRedirect(target)
        return redirect("accounts:notifications", shop=self.shop.pk)


class NotificationPreferencesView(ShopPageMixin, View):
    """Per kind of notification: in the app, by email, both or neither (this shop only)."""

    required_action = ANY_MEMBER

    def get(self, request, shop):
        rows = selectors.notification_preferences(actor=self.actor).values()
        return render(request, "accounts/notification_preferences.html", {"rows": rows})

    def post(self, request, shop):
        kinds = selectors.notification_preferences(actor=self.actor)
        choices = {
            kind: {
                "in_app": request.POST.get(f"in_app_{kind}") == "on",
                "email": request.POST.get(f"email_{kind}") == "on",
            }
            for kind in kinds
        }
        services.notification_preferences_set(actor=self.actor, choices=choices)
        messages.success(request, _("Your notification choices are saved."))
        return redirect("accounts:notification_preferences", shop=self.shop.pk)
