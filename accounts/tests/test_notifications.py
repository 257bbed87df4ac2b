"""The notification centre every domain sends through: in-app rows, email on commit, personal inboxes."""

import pytest
from django.core import mail
from django.db import transaction

from accounts import selectors, services
from accounts.models import AuditEntry, Membership, Notification, NotificationPreference
from accounts.services import Notice
from backoffice.authz import load_actor, system_actor
from tests.fixtures import api_client_for, make_member, web_client_for

pytestmark = pytest.mark.django_db


def test_send_creates_rows_and_emails_after_commit(shop, django_capture_on_commit_callbacks):
    operator = make_member(shop, "operator")
    with django_capture_on_commit_callbacks(execute=True):
        services.notifications_send(
            actor=system_actor(shop),
            notices=[
                Notice(operator.user, "low_stock", "2 SKUs low on stock", "A-1, B-2", "/shops/1/catalog/low-stock/"),
                Notice(shop.owner, "low_stock", "2 SKUs low on stock"),
            ],
        )
    assert Notification.objects.for_shop(shop).count() == 2
    assert sorted(m.to[0] for m in mail.outbox) == sorted([operator.user.email, shop.owner.email])
    assert any("A-1, B-2" in m.body for m in mail.outbox)
    assert all(m.subject.startswith(f"[{shop.name}]") for m in mail.outbox)


def test_a_sender_that_fails_after_sending_leaves_no_row_and_no_email(shop, django_capture_on_commit_callbacks):
    """Notices are part of the sender's transaction: when the use case fails after sending (here, after its
    notices were written), its rows go with it and no email leaves (the mail waits for a commit)."""
    operator = make_member(shop, "operator")
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        services.notifications_send(
            actor=system_actor(shop),
            notices=[Notice(operator.user, "low_stock", "Low"), Notice(shop.owner, "low_stock", "Low")],
        )
        assert Notification.objects.for_shop(shop).count() == 2  # written, inside the use case
        raise RuntimeError("the use case fails after sending")
    assert not Notification.objects.for_shop(shop).exists()
    assert callbacks == [] and mail.outbox == []


def test_inbox_is_personal_and_per_shop(shop, other_shop):
    viewer = make_member(shop, "viewer")
    services.notifications_send(actor=system_actor(shop), notices=[Notice(viewer.user, "x", "for viewer")], email=False)
    services.notifications_send(actor=system_actor(shop), notices=[Notice(shop.owner, "x", "for owner")], email=False)
    services.notifications_send(
        actor=system_actor(other_shop), notices=[Notice(other_shop.owner, "x", "elsewhere")], email=False
    )
    api = api_client_for(viewer.user)
    body = api.get(f"/api/v1/shops/{shop.pk}/notifications/").json()
    assert [n["title"] for n in body["results"]] == ["for viewer"] and body["unread"] == 1
    # Someone else's id is not yours to mark: 404, and nothing changes.
    owners = Notification.objects.for_shop(shop).get(recipient=shop.owner)
    r = api.post(f"/api/v1/shops/{shop.pk}/notifications/read/", {"ids": [owners.pk]}, format="json")
    assert r.status_code == 404
    owners.refresh_from_db()
    assert owners.read_at is None
    assert api.post(f"/api/v1/shops/{shop.pk}/notifications/read/", {}, format="json").json() == {"marked": 1}
    assert selectors.notification_unread_count(shop=shop, actor=load_actor(viewer.user, shop)) == 0
    assert selectors.notification_unread_count(shop=shop, actor=load_actor(shop.owner, shop)) == 1
    r = api.post(f"/api/v1/shops/{shop.pk}/notifications/read/", {"ids": ["x"]}, format="json")
    assert r.status_code == 400


def test_header_shows_unread_count_and_page_marks_read(shop):
    services.notifications_send(
        actor=system_actor(shop),
        notices=[Notice(shop.owner, "low_stock", "Low stock", url=f"/shops/{shop.pk}/")],
        email=False,
    )
    web = web_client_for(shop.owner, reauth=False)
    page = web.get(f"/shops/{shop.pk}/").content.decode()
    assert 'id="unread-count">1<' in page
    listing = web.get(f"/shops/{shop.pk}/notifications/").content.decode()
    assert "Low stock" in listing
    note = Notification.objects.for_shop(shop).get()
    r = web.post(f"/shops/{shop.pk}/notifications/", {"id": note.pk, "next": note.url})
    assert r.status_code == 302 and r["Location"] == note.url
    assert 'id="unread-count"' not in web.get(f"/shops/{shop.pk}/").content.decode()
    # An outside URL is never followed.
    services.notifications_send(actor=system_actor(shop), notices=[Notice(shop.owner, "x", "y")], email=False)
    other = Notification.objects.for_shop(shop).filter(read_at__isnull=True).get()
    r = web.post(f"/shops/{shop.pk}/notifications/", {"id": other.pk, "next": "https://evil.example/"})
    assert r["Location"] == f"/shops/{shop.pk}/notifications/"


def test_another_shops_ids_mark_nothing(shop, other_shop):
    services.notifications_send(actor=system_actor(shop), notices=[Notice(shop.owner, "x", "victim's")], email=False)
    victim_note = Notification.objects.for_shop(shop).get()
    api = api_client_for(other_shop.owner)
    r = api.post(f"/api/v1/shops/{other_shop.pk}/notifications/read/", {"ids": [victim_note.pk]}, format="json")
    assert r.status_code == 404
    assert api.get(f"/api/v1/shops/{shop.pk}/notifications/").status_code == 404
    victim_note.refresh_from_db()
    assert victim_note.read_at is None


# --- members choose what they receive (SPEC §8) -------------------------------------------------

KINDS_BY_ROLE = [
    # role, kinds offered in this shop (apps installed: accounts, catalog, orders, promotions, payouts, analytics)
    (
        "owner",
        [
            "low_stock",
            "overdue_orders",
            "ad_budget_spent",
            "promotion_paused",
            "member_expiring",
            "report_ready",
            "withdrawal_status",
        ],
    ),
    (
        "admin",
        [
            "low_stock",
            "overdue_orders",
            "ad_budget_spent",
            "promotion_paused",
            "member_expiring",
            "report_ready",
            "withdrawal_status",
        ],
    ),
    (
        "operator",
        ["low_stock", "overdue_orders", "ad_budget_spent", "promotion_paused", "member_expiring", "report_ready"],
    ),
    ("support", ["member_expiring"]),
    ("finance", ["member_expiring", "report_ready", "withdrawal_status"]),
    ("viewer", ["member_expiring", "report_ready"]),
]


@pytest.mark.parametrize("role,kinds", KINDS_BY_ROLE)
def test_each_role_is_offered_the_kinds_it_may_receive(shop, role, kinds):
    user = shop.owner if role == "owner" else make_member(shop, role).user
    got = api_client_for(user, reauth=False).get(f"/api/v1/shops/{shop.pk}/notifications/preferences/").json()
    assert [p["kind"] for p in got["preferences"]] == kinds
    assert all(p["in_app"] and p["email"] for p in got["preferences"])  # until they choose


def test_choices_are_kept_per_shop_and_audited(shop, other_shop):
    api = api_client_for(shop.owner, reauth=False)
    url = f"/api/v1/shops/{shop.pk}/notifications/preferences/"
    r = api.put(url, {"preferences": [{"kind": "low_stock", "email": False}]}, format="json")
    assert r.status_code == 200
    low = next(p for p in r.json()["preferences"] if p["kind"] == "low_stock")
    assert (low["in_app"], low["email"]) == (True, False)
    r = api.put(url, {"preferences": [{"kind": "low_stock", "in_app": False}]}, format="json")
    low = next(p for p in r.json()["preferences"] if p["kind"] == "low_stock")
    assert (low["in_app"], low["email"]) == (False, False)  # the email choice was kept
    entry = AuditEntry.objects.for_shop(shop).filter(action="notifications.preferences_changed").last()
    assert entry.changes == {"low_stock": [{"in_app": True, "email": False}, {"in_app": False, "email": False}]}
    # Another shop of the same user keeps its own (default) choices.
    services.shop_open(user=shop.owner, shop_name="Second")
    second = Membership.unscoped.filter(user=shop.owner).exclude(shop=shop).get().shop
    other = api.get(f"/api/v1/shops/{second.pk}/notifications/preferences/").json()["preferences"]
    assert all(p["in_app"] and p["email"] for p in other)


@pytest.mark.parametrize(
    "body,field",
    [
        ({"preferences": [{"kind": "complaint", "email": False}]}, "preferences"),  # support app not installed
        ({"preferences": [{"kind": "nonsense"}]}, "preferences"),
        ({"preferences": [{"kind": "low_stock"}, {"kind": "low_stock"}]}, "preferences"),
        ({"preferences": [{"kind": "low_stock", "email": "maybe"}]}, "preferences.0.email"),
        ({}, "preferences"),
    ],
)
def test_bad_choices_are_refused_with_the_field(shop, body, field):
    api = api_client_for(shop.owner, reauth=False)
    r = api.put(f"/api/v1/shops/{shop.pk}/notifications/preferences/", body, format="json")
    assert r.status_code == 400 and field in r.json()["error"]["fields"], r.json()
    assert not NotificationPreference.objects.for_shop(shop).exists()


def test_a_member_cannot_choose_a_kind_their_role_does_not_receive(shop):
    viewer = make_member(shop, "viewer")
    r = api_client_for(viewer.user, reauth=False).put(
        f"/api/v1/shops/{shop.pk}/notifications/preferences/",
        {"preferences": [{"kind": "low_stock", "in_app": False}]},
        format="json",
    )
    assert r.status_code == 400


@pytest.mark.parametrize(
    "in_app,email,rows,mails",
    [(True, True, 1, 1), (True, False, 1, 0), (False, True, 0, 1), (False, False, 0, 0)],
)
def test_send_honours_each_recipients_choice(shop, django_capture_on_commit_callbacks, in_app, email, rows, mails):
    operator = make_member(shop, "operator")
    services.notification_preferences_set(
        actor=load_actor(operator.user, shop), choices={"low_stock": {"in_app": in_app, "email": email}}
    )
    with django_capture_on_commit_callbacks(execute=True):
        services.notifications_send(
            actor=system_actor(shop),
            notices=[Notice(operator.user, "low_stock", "Low"), Notice(shop.owner, "low_stock", "Low")],
        )
    assert Notification.objects.for_shop(shop).filter(recipient=operator.user).count() == rows
    assert [m.to[0] for m in mail.outbox].count(operator.user.email) == mails
    # The owner chose nothing: gets both.
    assert Notification.objects.for_shop(shop).filter(recipient=shop.owner).count() == 1
    assert shop.owner.email in [m.to[0] for m in mail.outbox]


def test_preferences_page_saves_the_ticks(shop):
    web = web_client_for(shop.owner, reauth=False)
    url = f"/shops/{shop.pk}/notifications/preferences/"
    html = web.get(url).content.decode()
    assert 'name="email_overdue_orders" checked' in html
    # Everything ticked except overdue orders by email.
    ticks = {f"{c}_{k}": "on" for k in ("low_stock", "overdue_orders", "member_expiring") for c in ("in_app", "email")}
    del ticks["email_overdue_orders"]
    assert web.post(url, ticks).status_code == 302
    html = web.get(url).content.decode()
    assert 'name="email_overdue_orders" checked' not in html and 'name="in_app_overdue_orders" checked' in html
    assert 'name="email_low_stock" checked' in html


# --- sub-account expiring -----------------------------------------------------------------------


def test_expiring_member_their_manager_and_the_owner_are_told_once(shop, django_capture_on_commit_callbacks):
    from datetime import timedelta

    from django.utils import timezone

    admin = make_member(shop, "admin")
    temp = make_member(shop, "operator", manager=admin, expires_at=timezone.now() + timedelta(days=2))
    later = make_member(shop, "operator", expires_at=timezone.now() + timedelta(days=10))
    with django_capture_on_commit_callbacks(execute=True):
        assert services.staff_expiry_notify(actor=system_actor(shop)) == 1
    told = Notification.objects.for_shop(shop).filter(kind="member_expiring")
    assert sorted(n.recipient_id for n in told) == sorted([temp.user_id, admin.user_id, shop.owner_id])
    assert told.get(recipient=temp.user).title.startswith(f"Your access to {shop.name} ends on")
    assert told.get(recipient=shop.owner).url == f"/shops/{shop.pk}/staff/{temp.pk}/"
    assert len(mail.outbox) == 3
    assert services.staff_expiry_notify(actor=system_actor(shop)) == 0  # once
    assert not told.filter(recipient=later.user).exists()
    # A new end date, once it nears, is told again.
    services.staff_update(
        actor=load_actor(shop.owner, shop), membership=temp, expires_at=timezone.now() + timedelta(days=1)
    )
    assert services.staff_expiry_notify(actor=system_actor(shop)) == 1


def test_expiring_notice_respects_the_choice(shop):
    from datetime import timedelta

    from django.utils import timezone

    temp = make_member(shop, "viewer", expires_at=timezone.now() + timedelta(hours=5))
    services.notification_preferences_set(
        actor=load_actor(shop.owner, shop), choices={"member_expiring": {"in_app": False}}
    )
    services.staff_expiry_notify(actor=system_actor(shop))
    recipients = set(
        Notification.objects.for_shop(shop).filter(kind="member_expiring").values_list("recipient_id", flat=True)
    )
    assert recipients == {temp.user_id}
