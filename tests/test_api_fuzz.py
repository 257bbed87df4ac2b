"""Property-based API testing from our own OpenAPI schema (schemathesis), in the seeded probe World:
every operation, fed with generated valid and invalid input, answers without a server error; what succeeds
has the shape and content type the schema promises (integrators generate clients from it); a restricted
role is refused what its role does not hold.

This is the net under "bad input gets a clear 4xx, never a 500": the schema says what each endpoint
takes, schemathesis tries what a careless or hostile client would send. The path parameters are real ids
of the world's objects (tests/fuzz_world.py), so detail and action endpoints parse their bodies instead
of answering 404 to a random id; each request runs in a savepoint that is rolled back, so every one meets
the world as built (the order awaiting confirmation still awaits it, the spare SKU still exists).

Reproducible: each operation's cases come from a fixed seed (the same inputs on every run of the same
tree) and the example database is off. Bounded: a fixed number of cases per operation and caller (see
``run_fuzz``), about 1,100 requests in all, some 35 s of CPU on top of the test database and probe world.
"""

from __future__ import annotations

import re
import time
import traceback
import zlib
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field

import hypothesis
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.core import NotSet
from schemathesis.core.failures import Failure, FailureGroup
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance

from backoffice.wsgi import application
from tests.fuzz_world import PLATFORM, Target, targets

schema = schemathesis.openapi.from_wsgi("/api/schema/", application)

pytestmark = pytest.mark.django_db


@contextmanager
def keep_test_connection():
    """Called as a plain WSGI app (not through Django's test client), Django would close the database
    connection at the start and end of each request: the test's transaction with it. (The test client
    reconnects the hook after each of its own requests, so this wraps each call.)"""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@dataclass
class Tally:
    """What the fuzz of one caller saw: statuses per operation, and each distinct broken promise (by
    operation and kind) with how often it happened and the first request that showed it."""

    statuses: dict[str, Counter] = field(default_factory=dict)
    problems: dict[tuple[str, str], list] = field(default_factory=dict)
    in_app: float = 0.0  # seconds spent answering (the rest is generating and checking)
    refused: set[str] = field(default_factory=set)  # the operations the caller's role does not hold

    def problem(self, label: str, kind: str, case, status, detail: str, *, body_limit: int = 600) -> None:
        entry = self.problems.setdefault((label, kind), [0, ""])
        if not entry[1]:
            entry[1] = _describe(case, status, detail, body_limit=body_limit)
        entry[0] += 1

    def report(self) -> str:
        return f"{len(self.problems)} distinct broken answers:\n\n" + "\n\n".join(
            f"[{label}] {kind} (x{count})\n{first}" for (label, kind), (count, first) in sorted(self.problems.items())
        )

    def with_object_id(self) -> list[str]:
        """The operations on one object (an id in the path besides the shop's)."""
        return [label for label in self.statuses if re.search(r"\{(?!shop\})\w+\}", label)]

    def past_lookup(self) -> list[str]:
        """The operations on one object that answered at least once with something else than a 404:
        they found their object and went on to the request."""
        return [label for label in self.with_object_id() if any(status != 404 for status in self.statuses[label])]

    def succeeded(self) -> list[str]:
        return [label for label, seen in self.statuses.items() if any(_is_success(status) for status in seen)]

    def never_succeeded(self) -> set[str]:
        """The operations the caller may use that never answered a success."""
        return set(self.statuses) - self.refused - set(self.succeeded())

    def requests(self) -> int:
        return sum(sum(seen.values()) for seen in self.statuses.values())


def _is_success(status: int | str) -> bool:
    return isinstance(status, int) and 200 <= status < 300


def _describe(case, status, detail: str, *, body_limit: int = 600) -> str:
    body = "-" if isinstance(case.body, NotSet) else repr(case.body)
    if len(body) > body_limit:
        body = body[:body_limit] + "…"
    return (
        f"{case.method.upper()} {case.formatted_path} query={case.query or {}!r} "
        f"media_type={case.media_type!r} body={body} → {status}\n{detail}"
    )


def _app_frames(tb: str) -> str:
    """A traceback without the frames of installed packages (Django, DRF, psycopg...): our code's frames
    and the exception, which is what a report of a 500 needs."""
    lines, skip = [], False
    for line in tb.splitlines():
        if line.startswith("  File "):
            skip = "/site-packages/" in line
            if skip:
                continue
        elif skip and line.startswith("    "):
            continue
        else:
            skip = False
        lines.append(line)
    return "\n".join(lines)[-4000:]


def _has_nul(value) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(_has_nul(v) for v in value)
    return False


def _exception_line(tb: str) -> str:
    """``DataError: unsupported Unicode escape sequence``: the last exception of a traceback, without
    the details (SQL context, values) that differ from one input to the next."""
    found = [m.group(1) for m in re.finditer(r"^(?:[a-z_][\w]*\.)*([A-Z]\w*(?:Error|Exception)\b.*)$", tb, re.M)]
    return found[-1][:200] if found else tb.strip().splitlines()[-1][:200]


def _failure_kind(exc: BaseException) -> str:
    failures = exc.exceptions if isinstance(exc, FailureGroup) else [exc]
    return "; ".join(f"{f.code} {f.title}: {f.message.strip().splitlines()[0]}" for f in failures)


def _send(case, key: str):
    """One request through the WSGI app, in a savepoint rolled back afterwards. Returns the response and
    the traceback of an exception the app turned into a 500 (Django's got_request_exception)."""
    from django.core.cache import cache
    from django.core.signals import got_request_exception
    from django.db import transaction

    tracebacks: list[str] = []

    def on_exception(sender, **kwargs):
        tracebacks.append(traceback.format_exc())

    got_request_exception.connect(on_exception, weak=False)
    try:
        with keep_test_connection(), transaction.atomic():
            try:
                response = case.call(headers={"Authorization": f"Token {key}"})
            finally:
                transaction.set_rollback(True)
    finally:
        got_request_exception.disconnect(on_exception)
    # Access entries cached by a write (after it bumped the generations) may describe rows just rolled back.
    if case.method.upper() != "GET":
        cache.clear()
    return response, "".join(tracebacks)


def _with_real_values(case, valid: dict, keep: set[str]):
    """The generated body with some fields of a valid one put back (real ids, known codes), so the
    service gets past "no such order" and meets the generated values of the other fields."""
    if isinstance(case.body, dict):
        case.body = {**case.body, **{k: valid[k] for k in keep}}
    return case


def fuzz(target: Target, *, key: str, role: str, max_examples: int, tally: Tally) -> None:
    """Cases of one operation, with its real path parameters: the probe's request (an explicit example),
    then, when the operation takes a body or a query, generated positive and negative ones and generated
    bodies with some of the valid fields put back. Each answer is judged and counted and none
    stops the run, so one failing operation does not hide another (nor does Hypothesis spend the time
    budget shrinking)."""
    op = target.operation
    takes_input = bool(op.body) or bool(list(op.query))
    modes = [GenerationMode.POSITIVE, GenerationMode.NEGATIVE] if takes_input else [GenerationMode.POSITIVE]
    strategy = st.one_of(*[op.as_strategy(mode, path_parameters=target.path_parameters) for mode in modes])
    if target.valid_body:
        valid = target.valid_body
        mixed = st.builds(_with_real_values, strategy, st.just(valid), st.sets(st.sampled_from(sorted(valid))))
        strategy = st.one_of(strategy, mixed)
    # The probe's request itself (its valid body, no query): what succeeds for a caller allowed to send it.
    if target.valid_body is None:
        plain = op.Case(path_parameters=dict(target.path_parameters))
    else:
        plain = op.Case(path_parameters=dict(target.path_parameters), body=dict(target.valid_body),
                        media_type=target.media_type)  # fmt: skip
    allowed = target.allows(role)
    if not allowed:
        tally.refused.add(target.label)
    seen = tally.statuses.setdefault(target.label, Counter())

    @hypothesis.settings(
        max_examples=max_examples,
        database=None,
        deadline=None,
        # Without input, every generated case would be the plain request again.
        phases=[Phase.explicit, Phase.generate] if takes_input else [Phase.explicit],
        suppress_health_check=list(HealthCheck),
        verbosity=hypothesis.Verbosity.quiet,
    )
    # A seed per operation and caller: the same inputs on every run, whatever else changes in this file.
    @hypothesis.seed(zlib.crc32(f"{role} {target.label}".encode()))
    @hypothesis.given(case=strategy)
    def run(case):
        started = time.monotonic()
        try:
            response, app_traceback = _send(case, key)
        except Exception as exc:  # the app let it through (Django should not): as bad as a 500
            seen["exception"] += 1
            detail = _app_frames(traceback.format_exc())
            tally.problem(target.label, f"exception {exc!r}"[:200], case, "exception", detail, body_limit=4000)
            return
        finally:
            tally.in_app += time.monotonic() - started
        status = response.status_code
        seen[status] += 1
        if status >= 500:
            last = _exception_line(app_traceback) if app_traceback else response.text[:200]
            detail = _app_frames(app_traceback) if app_traceback else response.text[:2000]
            tally.problem(target.label, f"{status}: {last}", case, status, detail, body_limit=4000)
        # (A NUL in the address is refused with a 400 for everyone, before authentication.)
        elif not allowed and status not in target.refusals() and not (status == 400 and _has_nul(case.query)):
            detail = f"{role} lacks {target.action}; the answer: {response.text[:500]}"
            tally.problem(target.label, f"{status} to {role}", case, status, detail)
        elif status < 300:
            try:
                case.validate_response(response, checks=[response_schema_conformance, content_type_conformance])
            except (FailureGroup, Failure) as exc:  # the answer breaks the schema's promise
                tally.problem(target.label, _failure_kind(exc), case, status, str(exc)[:2500])

    hypothesis.example(case=plain)(run)()


@pytest.fixture(autouse=True)
def _unthrottled(settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"token": "1000000/min"}}


def reauthenticated_key(user) -> str:
    """A personal token of ``user``, re-authenticated (sensitive endpoints ask for it), by the API itself."""
    from rest_framework.test import APIClient

    from accounts import services
    from tests.fixtures import PASSWORD

    _token, key = services.token_create(user=user, name="fuzz")
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert api.post("/api/v1/auth/reauth/", {"password": PASSWORD}, format="json").status_code == 204
    return key


def run_fuzz(world, *, user, role: str, with_body: int, with_query: int, path_regex: str = "", skip: str = "") -> Tally:
    """Fuzz every operation (under ``path_regex``, but not under ``skip``) as ``user``, holding ``role``:
    the probe's request, then ``with_body`` generated cases for an operation that takes a body and
    ``with_query`` for one that takes only query parameters (the others take no input)."""
    tally = Tally()
    key = reauthenticated_key(user)
    started = time.monotonic()
    for target in targets(schema, world, user=user, path_regex=path_regex):
        if skip and re.match(skip, target.operation.path):
            continue
        op = target.operation
        examples = with_body if op.body else with_query if list(op.query) else 1
        fuzz(target, key=key, role=role, max_examples=examples, tally=tally)
    # Shown with -s, and with a failure: how much the fuzz did and how far it got.
    print(
        f"fuzz as {role}: {len(tally.statuses)} operations, {tally.requests()} requests in "
        f"{time.monotonic() - started:.1f}s ({tally.in_app:.1f}s answering); "
        f"{len(tally.past_lookup())} of {len(tally.with_object_id())} on one object got past the lookup, "
        f"{len(tally.succeeded())} answered a success, {len(tally.refused)} refused the caller"
    )
    return tally


# Operations that no case can make succeed: schemathesis names an uploaded file after its field and the
# format it recognizes in the bytes (PNG, JPEG...), never .csv or .xlsx, which an import asks for.
NEVER_SUCCEED = {"POST /api/v1/shops/{shop}/imports/"}


def test_owner_fuzz_reaches_every_body_without_a_server_error(world):
    """The owner may do everything: every operation, detail and action ones included, finds its object
    and answers without a 500, and what succeeds is what the schema promises."""
    tally = run_fuzz(world, user=world.shop.owner, role="owner", with_body=10, with_query=4)
    assert not tally.problems, tally.report()
    # The fuzz keeps reaching the bodies: were the ids random again, these would answer 404 and fail.
    assert len(tally.with_object_id()) >= 45
    assert tally.past_lookup() == tally.with_object_id(), tally.statuses
    assert tally.never_succeeded() <= NEVER_SUCCEED, tally.statuses
    assert len(tally.succeeded()) >= 85


@pytest.mark.parametrize("role", ["viewer", "support"])
def test_restricted_role_fuzz_is_refused_or_reads(world, role):
    """A restricted member gets a 403 (or 404) from every operation its role does not hold, whatever it
    sends (the probe's valid request included), and never a 500 from the ones it does."""
    # Signing up, in and re-authenticating answer the same whoever calls: the owner's fuzz covers them.
    tally = run_fuzz(world, user=world.members[role].user, role=role, with_body=2, with_query=2, skip="^/api/v1/auth/")
    assert not tally.problems, tally.report()
    assert len(tally.refused) >= 40
    # Refused by its role (a 403), not by a lookup that found nothing.
    assert [label for label in sorted(tally.refused) if 403 not in tally.statuses[label]] == []
    assert tally.never_succeeded() <= NEVER_SUCCEED, tally.statuses
    assert len(tally.succeeded()) >= 30


def test_marketplace_fuzz_as_platform_staff(world):
    """The integration and moderation endpoints, as the platform staff they are for, on the world's real
    orders and a product in moderation (a moderator: platform staff in the moderators' group, as the
    moderation endpoints require; the integration endpoints take any platform staff)."""
    from django.contrib.auth.models import Permission

    from tests.fixtures import make_platform_moderator

    staff = make_platform_moderator()
    # The payout staff's rights too: the platform's withdrawal queue and decisions (payouts/services/withdrawals).
    staff.user_permissions.add(*Permission.objects.filter(
        content_type__app_label="payouts", codename__in=["view_withdrawal", "change_withdrawal"]))  # fmt: skip
    staff = type(staff).objects.get(pk=staff.pk)  # the permission cache is per instance
    tally = run_fuzz(world, user=staff, role=PLATFORM, with_body=10, with_query=5,
                     path_regex="^/api/v1/(integration|platform)/")  # fmt: skip
    assert not tally.problems, tally.report()
    assert len(tally.statuses) == 14  # the integration and platform endpoints: a new one must be fuzzed too
    assert tally.never_succeeded() == set(), tally.statuses
