"""Notifications: every domain sends its notices through ``notifications_send`` (tasks and platform
code with ``system_actor(shop)``); members mark theirs read and choose what they receive."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.core.mail import EmailMessage, get_connection, send_mass_mail
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts import selectors
from accounts.models import Notification, NotificationPreference, User
from backoffice.audit import audit_record
from backoffice.authz import Actor, as_actor, require
from backoffice.errors import Forbidden, NotFound, ValidationFailed
from backoffice.notifications import KINDS, kinds_for


@dataclass(frozen=True)
class Notice:
    recipient: User
    kind: str  # "low_stock", "complaint", "report_ready", ...
    title: str
    body: str = ""
    url: str = ""
    # Files sent with the email, as (filename, content, mimetype); the in-app notification links to them (``url``).
    attachments: tuple[tuple[str, bytes, str], ...] = ()


def _send_with_attachments(emails: list[EmailMessage]) -> None:
    with get_connection(fail_silently=True) as connection:
        connection.send_messages(emails)


def notifications_send(*, actor: Actor, notices: Sequence[Notice], email: bool = True) -> list[Notification]:
    """In-app notifications in the actor's shop (one insert), and the same by email once the caller's
    transaction commits, each as far as its recipient chose to receive that kind (``NotificationPreference``).

    The sender must hold the action each kind is about (a system actor holds them all)."""
    as_actor(actor)
    for kind in sorted({n.kind for n in notices}):
        action = KINDS[kind].action if kind in KINDS else None
        if action is not None:
            require(actor, action)
    shop = actor.shop
    chosen = {
        (p.user_id, p.kind): p
        for p in NotificationPreference.objects.for_shop(shop).filter(
            user_id__in={n.recipient.pk for n in notices}, kind__in={n.kind for n in notices}
        )
    } if notices else {}  # fmt: skip

    def wants(n: Notice, channel: str) -> bool:
        pref = chosen.get((n.recipient.pk, n.kind))
        return pref is None or getattr(pref, channel)

    rows = Notification.objects.for_shop(shop).bulk_create(
        [
            Notification(
                shop=shop, recipient=n.recipient, kind=n.kind[:32], title=n.title[:200], body=n.body, url=n.url[:255]
            )
            for n in notices
            if wants(n, "in_app")
        ]
    )
    mailed = [n for n in notices if email and n.recipient.email and wants(n, "email")]
    messages = [
        (f"[{shop.name}] {n.title}", "\n\n".join(part for part in (n.body, n.url) if part), None, [n.recipient.email])
        for n in mailed
        if not n.attachments
    ]
    if messages:
        transaction.on_commit(lambda: send_mass_mail(messages, fail_silently=True))
    emails = []
    for n in mailed:
        if n.attachments:
            message = EmailMessage(f"[{shop.name}] {n.title}", "\n\n".join(part for part in (n.body, n.url) if part),
                                   to=[n.recipient.email])  # fmt: skip
            for filename, content, mimetype in n.attachments:
                message.attach(filename, content, mimetype)
            emails.append(message)
    if emails:
        transaction.on_commit(lambda: _send_with_attachments(emails))
    return rows


@transaction.atomic
def notifications_mark_read(*, actor: Actor, ids: Iterable[int] | None = None) -> int:
    """Mark the actor's own notifications read (all of them when ``ids`` is None); returns how many were
    unread. An id that is not one of the actor's notifications in this shop is ``NotFound`` (nothing marked),
    never a quiet "done"."""
    as_actor(actor)
    mine = Notification.objects.for_shop(actor.shop).filter(recipient_id=actor.user.pk)
    if ids is not None:
        ids = set(ids)
        mine = mine.filter(pk__in=ids)
        if mine.count() != len(ids):
            raise NotFound(_("No such notification."))
    return mine.filter(read_at__isnull=True).update(read_at=timezone.now())


@transaction.atomic
def notification_preferences_set(*, actor: Actor, choices: dict[str, dict[str, bool]]) -> None:
    """The actor's own choice, per kind, of in-app and email notifications in this shop. Kinds left out
    keep their setting; a kind the member cannot receive here is refused."""
    as_actor(actor)
    if actor.membership is None:
        raise Forbidden(_("Only a member chooses their own notifications."))
    offered = {k.key for k in kinds_for(actor)}
    unknown = sorted(set(choices) - offered)
    if unknown:
        raise ValidationFailed(
            _("Unknown notification kind."),
            fields={"preferences": [_("Not offered here: %s") % ", ".join(unknown)]},
        )
    before = selectors.notification_preferences(actor=actor)
    for kind, channels in choices.items():
        current = before[kind]
        NotificationPreference.objects.for_shop(actor.shop).update_or_create(
            shop=actor.shop,
            user=actor.user,
            kind=kind,
            defaults={
                "in_app": bool(channels.get("in_app", current["in_app"])),
                "email": bool(channels.get("email", current["email"])),
            },
        )
    after = selectors.notification_preferences(actor=actor)
    changes = {
        kind: [{"in_app": before[kind]["in_app"], "email": before[kind]["email"]},
               {"in_app": after[kind]["in_app"], "email": after[kind]["email"]}]
        for kind in choices
        if before[kind] != after[kind]
    }  # fmt: skip
    if changes:
        audit_record(shop=actor.shop, actor=actor, action="notifications.preferences_changed",
                     target=actor.membership, changes=changes)  # fmt: skip
