"""The demo shop's own backend: what a merchant server would do (mint tokens, list products).

Mounted only by `shopcall demo`. Agent logins here are one-click demo logins, not accounts.
"""

from __future__ import annotations

import secrets

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from shopcall.api.deps import get_db, get_signing_key
from shopcall.api.errors import ApiError
from shopcall.auth import tokens
from shopcall.db.engine import Database
from shopcall.demo.seed import DEMO_APP_ID, DEMO_PASSWORD, demo_agents, demo_customers, demo_products

router = APIRouter(prefix="/demo/api", tags=["demo"], include_in_schema=False)


class ShopperIn(BaseModel):
    name: str = Field("Guest", min_length=1, max_length=80)
    sku: str | None = Field(None, max_length=100)
    customer: str | None = Field(None, max_length=200, description="a demo customer id: a signed-in shopper")


class AgentLoginIn(BaseModel):
    identity: str = Field(min_length=1, max_length=200)


@router.get("/products")
def products(db: Database = Depends(get_db)) -> list[dict[str, object]]:
    return [{"sku": p.sku, "title": p.title, "price": p.price_cents / 100, "currency": p.currency,
             "image_url": p.image_url, "description": p.description, "category": p.category}
            for p in demo_products(db)]


@router.get("/agents")
def agents(db: Database = Depends(get_db)) -> list[dict[str, str]]:
    """The demo accounts, with the demo password, for one-click sign-in on the demo console."""
    return [{"identity": a.identity, "name": a.display_name, "role": a.role, "app_id": DEMO_APP_ID,
             "password": DEMO_PASSWORD} for a in demo_agents(db)]


@router.post("/shopper-token")
def shopper_token(body: ShopperIn, db: Database = Depends(get_db),
                  key: bytes = Depends(get_signing_key)) -> dict[str, object]:
    identity = "shopper-" + secrets.token_hex(4)
    name = body.name.strip() or "Guest"
    if body.customer:
        known = {c.external_id: c.name for c in demo_customers(db)}
        if body.customer not in known:
            raise ApiError(404, "customer_not_found", f"no demo customer {body.customer!r}")
        identity, name = body.customer, known[body.customer]
    token, exp = tokens.mint(key, app_id=DEMO_APP_ID, identity=identity,
                             role="shopper", name=name, ttl_s=3600, customer=body.customer)
    return {"token": token, "app_id": DEMO_APP_ID, "identity": identity, "name": name, "expires_at": exp}


@router.get("/customers")
def customers(db: Database = Depends(get_db)) -> list[dict[str, str]]:
    return [{"id": c.external_id, "name": c.name} for c in demo_customers(db)]


@router.post("/agent-login")
def agent_login(body: AgentLoginIn, db: Database = Depends(get_db),
                key: bytes = Depends(get_signing_key)) -> dict[str, object]:
    agent = next((a for a in demo_agents(db) if a.identity == body.identity), None)
    if agent is None:
        raise ApiError(404, "agent_not_found", f"no demo agent {body.identity!r}")
    token, exp = tokens.mint(key, app_id=DEMO_APP_ID, identity=agent.identity,
                             role="agent", name=agent.display_name, rooms=["*"], ttl_s=8 * 3600)
    return {"token": token, "expires_at": exp, "agent": {"identity": agent.identity, "name": agent.display_name}}
