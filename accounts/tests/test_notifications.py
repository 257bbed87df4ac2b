"""The notification centre every domain sends through: in-app rows, email on commit, personal inboxes."""

import pytest
from django.core import mail

from accounts import selectors, services
from accounts.models import Notification
from accounts.services import Notice
from backoffice.authz import load_actor
from tests.fixtures import api_client_for, make_member, web_client_for

pytestmark = pytest.mark.django_db


def test_send_creates_rows_and_emails_after_commit(shop, django_capture_on_commit_callbacks):
    operator = make_member(shop, "operator")
    with django_capture_on_commit_callbacks(execute=True):
        services.notifications_send(
            shop=shop,
            notices=[
                Notice(operator.user, "low_stock", "2 SKUs low on stock", "A-1, B-2", "/shops/1/catalog/low-stock/"),
                Notice(shop.owner, "low_stock", "2 SKUs low on stock"),
            ],
        )
    assert Notification.objects.for_shop(shop).count() == 2
    assert sorted(m.to[0] for m in mail.outbox) == sorted([operator.user.email, shop.owner.email])
    assert any("A-1, B-2" in m.body for m in mail.outbox)
    assert all(m.subject.startswith(f"[{shop.name}]") for m in mail.outbox)


def test_nothing_is_emailed_when_the_transaction_rolls_back(shop, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.notifications_send(shop=shop, notices=[Notice(shop.owner, "x", "t")])
    assert len(callbacks) == 1 and mail.outbox == []


def test_inbox_is_personal_and_per_shop(shop, other_shop):
    viewer = make_member(shop, "viewer")
    services.notifications_send(shop=shop, notices=[Notice(viewer.user, "x", "for viewer")], email=False)
    services.notifications_send(shop=shop, notices=[Notice(shop.owner, "x", "for owner")], email=False)
    services.notifications_send(shop=other_shop, notices=[Notice(other_shop.owner, "x", "elsewhere")], email=False)
    api = api_client_for(viewer.user)
    body = api.get(f"/api/v1/shops/{shop.pk}/notifications/").json()
    assert [n["title"] for n in body["results"]] == ["for viewer"] and body["unread"] == 1
    # Marking someone else's id read changes nothing.
    owners = Notification.objects.for_shop(shop).get(recipient=shop.owner)
    assert api.post(f"/api/v1/shops/{shop.pk}/notifications/read/", {"ids": [owners.pk]}, format="json").json() == {
        "marked": 0
    }
    assert api.post(f"/api/v1/shops/{shop.pk}/notifications/read/", {}, format="json").json() == {"marked": 1}
    assert selectors.notification_unread_count(shop=shop, actor=load_actor(viewer.user, shop)) == 0
    assert selectors.notification_unread_count(shop=shop, actor=load_actor(shop.owner, shop)) == 1
    r = api.post(f"/api/v1/shops/{shop.pk}/notifications/read/", {"ids": ["x"]}, format="json")
    assert r.status_code == 400


def test_header_shows_unread_count_and_page_marks_read(shop):
    services.notifications_send(
        shop=shop, notices=[Notice(shop.owner, "low_stock", "Low stock", url=f"/shops/{shop.pk}/")], email=False
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
    services.notifications_send(shop=shop, notices=[Notice(shop.owner, "x", "y")], email=False)
    other = Notification.objects.for_shop(shop).filter(read_at__isnull=True).get()
    r = web.post(f"/shops/{shop.pk}/notifications/", {"id": other.pk, "next": "https://evil.example/"})
    assert r["Location"] == f"/shops/{shop.pk}/notifications/"


def test_another_shops_ids_mark_nothing(shop, other_shop):
    services.notifications_send(shop=shop, notices=[Notice(shop.owner, "x", "victim's")], email=False)
    victim_note = Notification.objects.for_shop(shop).get()
    api = api_client_for(other_shop.owner)
    r = api.post(f"/api/v1/shops/{other_shop.pk}/notifications/read/", {"ids": [victim_note.pk]}, format="json")
    assert r.json() == {"marked": 0}
    assert api.get(f"/api/v1/shops/{shop.pk}/notifications/").status_code == 404
    victim_note.refresh_from_db()
    assert victim_note.read_at is None
