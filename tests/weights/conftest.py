import pytest

from tests.checkpoint.loopback import loopback_only as _loopback_only

loopback_only = pytest.fixture(autouse=True)(_loopback_only)
