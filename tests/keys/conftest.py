from tests.privacy.conftest import client, other_tenant, tenant  # noqa: F401  (the same app fixtures)
