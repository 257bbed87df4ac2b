"""Property-based API testing from our own OpenAPI schema (schemathesis): every operation, fed with
generated valid and invalid input by the shop's owner, answers without a server error.

This is the net under "bad input gets a clear 4xx, never a 500": the schema says what each endpoint
takes, schemathesis tries what a careless or hostile client would send.
"""

from __future__ import annotations

from contextlib import contextmanager

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance

from backoffice.wsgi import application

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


@pytest.fixture
def owner_key(shop, settings):
    from rest_framework.test import APIClient

    from accounts import services
    from tests.fixtures import PASSWORD

    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"token": "1000000/min"}}
    _token, key = services.token_create(user=shop.owner, name="fuzz")
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert api.post("/api/v1/auth/reauth/", {"password": PASSWORD}, format="json").status_code == 204
    return key


@schema.parametrize()
@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_no_operation_answers_with_a_server_error(case, shop, owner_key):
    """...and what succeeds has the shape and content type the schema promises (integrators generate
    clients from it)."""
    if "shop" in (case.path_parameters or {}):
        case.path_parameters["shop"] = shop.pk
    with keep_test_connection():
        response = case.call(headers={"Authorization": f"Token {owner_key}"})
    checks = [not_a_server_error]
    if response.status_code < 300:
        checks += [response_schema_conformance, content_type_conformance]
    case.validate_response(response, checks=checks)


@pytest.fixture
def stocked_shop(shop):
    from orders.tests.factories import make_sku

    make_sku(shop, code="FUZZ-1", stock=5)
    return shop


@pytest.fixture
def platform_key(settings):
    from accounts import services
    from orders.tests.factories import platform_user

    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"token": "1000000/min"}}
    _token, key = services.token_create(user=platform_user(), name="fuzz")
    return key


@schema.include(path_regex="^/api/v1/(integration|platform)/").parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_no_marketplace_operation_answers_with_a_server_error(case, stocked_shop, platform_key):
    """The integration and moderation endpoints, as the platform staff they are for."""
    if "shop" in (case.path_parameters or {}):
        case.path_parameters["shop"] = stocked_shop.pk
    with keep_test_connection():
        response = case.call(headers={"Authorization": f"Token {platform_key}"})
    case.validate_response(response, checks=[not_a_server_error])
