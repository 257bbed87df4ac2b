import pytest


@pytest.fixture
def owner(shop):
    from tests.fixtures import owner_actor

    return owner_actor(shop)
