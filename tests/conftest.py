# Fixtures and helpers live in tests/fixtures.py (loaded for the whole tree by the root conftest).
from tests.fixtures import PASSWORD, api_client_for, make_member, make_shop, owner_actor, web_client_for  # noqa: F401
