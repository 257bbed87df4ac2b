"""The suite covers what it claims to: every domain app's tests are collected by a bare ``pytest`` (the one
``make test`` and CI run). The analytics app's tests were left out of ``testpaths`` for a whole session."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

from django.conf import settings

ROOT = Path(__file__).resolve().parent.parent


def test_every_domain_app_with_tests_is_in_testpaths():
    testpaths = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]["testpaths"]
    with_tests = {app for app in settings.DOMAIN_APPS if (ROOT / app / "tests").is_dir()}
    assert with_tests == set(settings.DOMAIN_APPS)  # each app has a test package (a new one starts with one)
    assert with_tests <= set(testpaths), sorted(with_tests - set(testpaths))


def test_the_server_zone_of_a_run_has_another_day_than_the_test_shops_at_every_hour():
    from datetime import UTC, datetime, timedelta
    from zoneinfo import ZoneInfo

    from tests.settings import _server_zone_apart_from_the_shops

    moscow = ZoneInfo("Europe/Moscow")  # the zone a shop opens with (accounts.Shop.timezone's default)
    for minutes in range(0, 24 * 60, 15):
        start = datetime(2026, 11, 30, tzinfo=UTC) + timedelta(minutes=minutes)
        server = ZoneInfo(_server_zone_apart_from_the_shops(start.hour))
        assert start.astimezone(server).date() != start.astimezone(moscow).date(), start
    # This run's zone is one of the two (the hour it started chose which), unless pinned.
    assert settings.TIME_ZONE in {"Etc/GMT-14", "Etc/GMT+12", os.environ.get("TEST_SERVER_ZONE")}
