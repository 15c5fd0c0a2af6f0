"""The API tests' app and tenant fixtures (tests/api/conftest.py), shared rather than copied."""

from tests.api.conftest import Tenant, client, other_tenant, tenant

__all__ = ["Tenant", "client", "other_tenant", "tenant"]
