"""Whose address is recorded and rate-limited: X-Forwarded-For only from configured proxies, and a
caller's X-Request-ID only when it is a plain bounded token."""

import pytest
from django.test import RequestFactory

from backoffice import middleware
from backoffice.middleware import client_ip

CASES = [
    # (trusted proxies, REMOTE_ADDR, X-Forwarded-For, expected client)
    ([], "203.0.113.9", "", "203.0.113.9"),
    ([], "203.0.113.9", "198.51.100.1", "203.0.113.9"),  # not from a proxy: the header is ignored
    ([], "203.0.113.9", "1.2.3.4, 5.6.7.8", "203.0.113.9"),
    (["10.0.0.0/8"], "10.0.0.2", "198.51.100.7", "198.51.100.7"),
    (
        ["10.0.0.0/8"],
        "10.0.0.2",
        "6.6.6.6, 198.51.100.7",
        "198.51.100.7",
    ),  # the client's own hop is the rightmost untrusted
    (["10.0.0.0/8"], "10.0.0.2", "198.51.100.7, 10.0.0.9", "198.51.100.7"),  # past a chain of proxies
    (["10.0.0.0/8"], "10.0.0.2", "not-an-ip", "10.0.0.2"),
    (["10.0.0.0/8"], "10.0.0.2", "", "10.0.0.2"),
    ([], "garbage", "", None),
]


@pytest.mark.parametrize(("trusted", "remote", "forwarded", "expected"), CASES)
def test_forwarded_for_is_believed_only_from_trusted_proxies(settings, trusted, remote, forwarded, expected):
    settings.TRUSTED_PROXIES = trusted
    middleware._trusted_proxies.cache_clear()
    try:
        request = RequestFactory().get("/", REMOTE_ADDR=remote, HTTP_X_FORWARDED_FOR=forwarded)
        assert client_ip(request) == expected
    finally:
        middleware._trusted_proxies.cache_clear()


@pytest.mark.django_db
def test_rotating_forwarded_for_does_not_reset_the_anonymous_rate_limit(client, settings):
    from backoffice.api.throttling import PerTokenThrottle

    throttle = PerTokenThrottle()
    idents = set()
    for n in range(3):
        request = RequestFactory().get("/", REMOTE_ADDR="203.0.113.9", HTTP_X_FORWARDED_FOR=f"198.51.100.{n}")
        request.user = None
        idents.add(throttle.ident_for(request))
    assert idents == {"ip203.0.113.9"}


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("sent", "kept"),
    [("abc-123_X.y", True), ("x" * 65, False), ("bad id with spaces", False), ("<script>", False), ("", False)],
)
def test_request_id_is_kept_only_when_plain(client, sent, kept):
    response = client.get("/accounts/login/", HTTP_X_REQUEST_ID=sent)
    echoed = response["X-Request-ID"]
    assert (echoed == sent) is kept
    assert 1 <= len(echoed) <= 64
