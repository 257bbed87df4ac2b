"""The audit trail read as sentences: "Anna (Operator) packed order #1042 — tracking 123 (Cainiao)".

The kernel names no app. Each app ships ``<app>/audit_sentences.py`` (found in ``DOMAIN_APPS`` order, as
dashboard cards are) and registers there, at import:

- ``register_target``: a target type (the ``target_type`` that ``audit_record`` writes, the model's
  ``label_lower``): how an object of it is named, the page that opens it and the action needed to open it;
- ``register_action``: how an entry of one action reads, as one translatable sentence with placeholders
  (``%(actor)s``, ``%(target)s`` and whatever its ``values`` function takes from the entry's changes);
- ``register_people`` (the tenancy app only): how the people who acted are named (name, role, link).

Reading a page of entries costs one query per target type on it (plus one for the people), whatever the
number of rows. Objects are looked up in the reader's shop only and narrowed with ``restrict`` to what the
reader may open for the type's action: only those get a link and their current name. Anything else (a
deleted object, one outside the reader's scope, an id of another shop) reads with the words the entry
itself recorded, never with a name looked up elsewhere. An action nobody registered, or an entry whose
changes do not fit its sentence (an older shape), reads as a generic sentence.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from django.apps import apps
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from backoffice.authz import Actor, can, restrict, tenant_model

_DIGITS = re.compile(r"^[0-9]{1,18}$")
# What a sentence function may raise on changes of another shape than it expects (an older entry), or on
# a model its app no longer has: the entry then reads as the generic sentence, never a 500.
_SHAPE_ERRORS = (KeyError, ValueError, TypeError, IndexError, AttributeError, LookupError)


@dataclass(frozen=True)
class Ref:
    """An object (or person) named in a sentence: its words, and a link when the reader may open it."""

    text: str
    url: str = ""

    def html(self) -> SafeString:
        return format_html('<a href="{}">{}</a>', self.url, self.text) if self.url else conditional_escape(self.text)

    def __str__(self) -> str:
        return self.text


@dataclass(frozen=True)
class Person:
    name: str
    role: str = ""  # "Operator", "owner"; empty for someone who is not a member (platform staff)
    url: str = ""  # their activity page, when the reader may open it


@dataclass(frozen=True)
class TargetType:
    key: str  # "orders.order": what audit_record writes as target_type (or a ref kind, e.g. "accounts.role_key")
    label: Any  # "order" (lazy): the filter's choice and the generic sentence
    model: str  # "orders.Order"
    view_action: str | None  # the action that opens the object's page (None: named, never linked)
    name: Callable[[Any], str]  # the object's words: "order #1042"
    url: Callable[[Any], str] | None = None
    # The words for an object known only by what the entry recorded (``target_repr``; for refs, the value).
    recorded: Callable[[str], str] | None = None
    lookup: str = "pk"  # the field a target id / ref value is matched on ("key" for role keys)
    related: tuple[str, ...] = ()
    app: str = ""


@dataclass(frozen=True)
class ActionSentence:
    action: str  # "order.packed"
    label: Any  # "Order packed" (lazy): the action filter's choice
    # "%(actor)s packed %(target)s — tracking %(tracking)s (%(carrier)s)", or a function of the entry
    # choosing among such sentences
    text: Any
    values: Callable[[Entry], Mapping[str, Any]] | None = None
    # (target type key, value) pairs the sentence names besides its target: resolved in the same batch
    refs: Callable[[Entry], Iterable[tuple[str, Any]]] | None = None
    app: str = ""


_TARGETS: dict[str, TargetType] = {}
_ACTIONS: dict[str, ActionSentence] = {}
_PEOPLE: list[Callable[[Actor, set[int]], Mapping[int, Person]]] = []
_registering = {"app": ""}


def register_target(key: str, **kwargs) -> TargetType:
    if key in _TARGETS:
        raise ImproperlyConfigured(f"audit target type {key!r} is registered twice")
    _TARGETS[key] = target = TargetType(key=key, app=_registering["app"], **kwargs)
    return target


def register_action(action: str, label, text, *, values=None, refs=None) -> ActionSentence:
    if action in _ACTIONS:
        raise ImproperlyConfigured(f"audit action {action!r} is registered twice")
    _ACTIONS[action] = sentence = ActionSentence(
        action=action, label=label, text=text, values=values, refs=refs, app=_registering["app"]
    )
    return sentence


def register_people(resolver: Callable[[Actor, set[int]], Mapping[int, Person]]) -> None:
    """``resolver(reader, user_ids) -> {user_id: Person}``: who the actors are in the reader's shop."""
    _PEOPLE.append(resolver)


@cache
def discover() -> None:
    """Import every domain app's ``audit_sentences`` module once (their registrations run at import)."""
    for app in settings.DOMAIN_APPS:
        _registering["app"] = app
        try:
            importlib.import_module(f"{app}.audit_sentences")
        except ModuleNotFoundError as exc:
            if exc.name != f"{app}.audit_sentences":
                raise
        finally:
            _registering["app"] = ""


# ---------------------------------------------------------------------------------------------- choices


def action_choices(extra: Iterable[str] = ()) -> list[tuple[str, list[tuple[str, str]]]]:
    """The action filter's choices, grouped by app (``DOMAIN_APPS`` order), by label within each; codes
    in ``extra`` nobody registered (the value being filtered on) go last, as themselves."""
    discover()
    groups: list[tuple[str, list[tuple[str, str]]]] = []
    for app in settings.DOMAIN_APPS:
        items = sorted(((a.action, str(a.label)) for a in _ACTIONS.values() if a.app == app), key=lambda c: c[1])
        if items:
            groups.append((str(apps.get_app_config(app).verbose_name), items))
    unknown = sorted({code for code in extra if code and code not in _ACTIONS})
    if unknown:
        groups.append((_("Other"), [(code, code) for code in unknown]))
    return groups


def target_choices(extra: Iterable[str] = ()) -> list[tuple[str, str]]:
    """The target-type filter's choices: every registered type an entry can name, by label."""
    discover()
    found = [(t.key, str(t.label)[:1].upper() + str(t.label)[1:]) for t in _TARGETS.values() if t.lookup == "pk"]
    found += [(code, code) for code in sorted(set(extra)) if code and code not in _TARGETS]
    return sorted(found, key=lambda c: c[1])


def action_label(action: str) -> str:
    discover()
    sentence = _ACTIONS.get(action)
    return str(sentence.label) if sentence else action


# ---------------------------------------------------------------------------------------------- rendering


@dataclass
class Entry:
    """What an action's ``values``/``refs``/``text`` functions read: the entry, its changes as the reader
    may see them (redacted), its target, and the objects its refs name."""

    record: Any  # the audit entry (AUDIT_ENTRY_MODEL)
    changes: Mapping[str, Any]
    target: Ref = field(default_factory=lambda: Ref(""))
    _resolved: Mapping[tuple[str, str], Ref] = field(default_factory=dict)

    def before(self, key: str, default: Any = None) -> Any:
        pair = self.changes.get(key)
        return pair[0] if isinstance(pair, list) and len(pair) == 2 else default

    def after(self, key: str, default: Any = None) -> Any:
        pair = self.changes.get(key)
        return pair[1] if isinstance(pair, list) and len(pair) == 2 else default

    def ref(self, type_key: str, value: Any) -> Ref:
        """The words (and link) for an object a ref named: resolved with the page's batch."""
        if value in (None, ""):
            return Ref("—")
        found = self._resolved.get((type_key, str(value)))
        if found is not None:
            return found
        return Ref(_recorded(_TARGETS.get(type_key), str(value)))


@dataclass(frozen=True)
class Sentence:
    entry: Any
    html: SafeString
    text: str
    changes: Mapping[str, Any]
    target_url: str = ""


def _recorded(target: TargetType | None, words: str) -> str:
    if target is not None and target.recorded is not None:
        try:
            return target.recorded(words)
        except _SHAPE_ERRORS:
            pass
    return words


def _resolve(reader: Actor, wanted: dict[str, set[str]]) -> dict[tuple[str, str], Ref]:
    """One query per target type: the objects of the reader's shop they may open, named and linked."""
    found: dict[tuple[str, str], Ref] = {}
    shop = reader.shop
    for key, values in wanted.items():
        target = _TARGETS.get(key)
        if target is None or not values:
            continue
        try:
            model = apps.get_model(target.model)
        except LookupError:
            continue
        if target.lookup == "pk":
            # Ids are text in the entry: anything that is not a plain number can name no row.
            values = {v for v in values if _DIGITS.match(v)}
            if not values:
                continue
        if model is tenant_model():
            # The shop itself: the reader's, known without a query (another shop's id is never looked up).
            objects = [shop] if str(shop.pk) in values else []
            if target.view_action is not None:
                objects = [o for o in objects if can(reader, target.view_action, o)]
        else:
            qs = model.objects.for_shop(shop)
            if target.view_action is not None:
                qs = restrict(qs, reader, target.view_action)
            if target.related:
                qs = qs.select_related(*target.related)
            objects = list(qs.filter(**{f"{target.lookup}__in": sorted(values)}))
        for obj in objects:
            url = target.url(obj) if (target.url is not None and target.view_action is not None) else ""
            found[(key, str(getattr(obj, target.lookup)))] = Ref(target.name(obj), url)
    return found


def _people(reader: Actor, user_ids: set[int]) -> dict[int, Person]:
    people: dict[int, Person] = {}
    for resolver in _PEOPLE:
        people.update(resolver(reader, user_ids))
    return people


def _actor_ref(record, people: Mapping[int, Person]) -> Ref:
    if not record.actor_id:
        return Ref(_("System"))
    person = people.get(record.actor_id)
    if person is None:
        return Ref(record.actor.get_username())
    text = _("%(name)s (%(role)s)") % {"name": person.name, "role": person.role} if person.role else person.name
    return Ref(text, person.url)


def _fill(text: str, values: Mapping[str, Any]) -> tuple[SafeString, str]:
    """The sentence as HTML (every value escaped, refs linked) and as plain text."""
    html_values = {k: (v.html() if isinstance(v, Ref) else conditional_escape(str(v))) for k, v in values.items()}
    plain_values = {k: str(v) for k, v in values.items()}
    return mark_safe(conditional_escape(text) % html_values), text % plain_values  # noqa: S308 (escaped above)


def _generic(entry: Entry, actor: Ref) -> tuple[SafeString, str]:
    sentence = _ACTIONS.get(entry.record.action)
    action = str(sentence.label) if sentence else entry.record.action
    values: dict[str, Any] = {"actor": actor, "action": action, "target": entry.target}
    if entry.target.text:
        return _fill(_("%(actor)s: %(action)s — %(target)s"), values)
    return _fill(_("%(actor)s: %(action)s"), values)


def render(entries: Iterable[Any], *, reader: Actor, redact: Callable[[Any], Any] | None = None) -> list[Sentence]:
    """The entries (audit entries of the reader's shop, ``actor`` selected) as sentences, in their order.

    ``redact`` hides, in each entry's changes, what the reader may not see (the tenancy app's redactor):
    the sentences are built from the redacted changes only."""
    discover()
    records = list(entries)
    prepared: list[Entry] = []
    wanted: dict[str, set[str]] = {}
    for record in records:
        changes = redact(record.changes) if redact is not None else record.changes
        entry = Entry(record=record, changes=changes if isinstance(changes, Mapping) else {})
        prepared.append(entry)
        if record.target_type in _TARGETS and record.target_id:
            wanted.setdefault(record.target_type, set()).add(str(record.target_id))
        sentence = _ACTIONS.get(record.action)
        if sentence is not None and sentence.refs is not None:
            try:
                for key, value in sentence.refs(entry):
                    if value not in (None, ""):
                        wanted.setdefault(key, set()).add(str(value))
            except _SHAPE_ERRORS:
                pass  # an entry of an older shape: its sentence falls back below
    resolved = _resolve(reader, wanted)
    people = _people(reader, {r.actor_id for r in records if r.actor_id})
    result = []
    for entry in prepared:
        record = entry.record
        target_type = _TARGETS.get(record.target_type)
        entry.target = resolved.get((record.target_type, str(record.target_id))) or Ref(
            _recorded(target_type, record.target_repr)
        )
        entry._resolved = resolved
        actor = _actor_ref(record, people)
        sentence = _ACTIONS.get(record.action)
        html = plain = None
        if sentence is not None:
            try:
                text = sentence.text(entry) if callable(sentence.text) else sentence.text
                values = {"actor": actor, "target": entry.target}
                if sentence.values is not None:
                    values.update(sentence.values(entry))
                html, plain = _fill(str(text), values)
            except _SHAPE_ERRORS:
                html = plain = None  # changes of another shape than the sentence expects
        if html is None:
            html, plain = _generic(entry, actor)
        result.append(Sentence(entry=record, html=html, text=plain, changes=entry.changes, target_url=entry.target.url))
    return result


# ---------------------------------------------------------------------------------------------- helpers for apps


def signed(value: Any) -> str:
    """+20 / −3 for a change of a count."""
    number = int(value)
    return f"+{number}" if number > 0 else f"−{abs(number)}" if number < 0 else "0"


def delta(entry: Entry, key: str) -> str:
    """The signed change of a counted field between before and after."""
    return signed(int(entry.after(key) or 0) - int(entry.before(key) or 0))


def changed_fields(entry: Entry, labels: Mapping[str, Any], *, skip: Iterable[str] = ()) -> str:
    """The changed fields, by their labels (a field without one by its name), comma separated."""
    skipped = set(skip)
    names = [str(labels.get(k, k.replace("_", " "))) for k in entry.changes if k not in skipped]
    return ", ".join(names) if names else str(gettext_lazy("nothing"))


def field_labels(model: str) -> dict[str, Any]:
    """{field name: verbose name} of a model (``"catalog.SKU"``), for ``changed_fields``."""
    return {f.name: f.verbose_name for f in apps.get_model(model)._meta.get_fields() if hasattr(f, "verbose_name")}


def choice_label(model: str, field_name: str, value: Any) -> str:
    """The display label of a choice field's value (a status, a reason); the value itself if unknown."""
    choices = dict(apps.get_model(model)._meta.get_field(field_name).flatchoices)
    return str(choices.get(value, value if value is not None else "—"))
