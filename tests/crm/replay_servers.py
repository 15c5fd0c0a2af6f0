"""Real HTTP servers on 127.0.0.1 that replay vendor-shaped responses, errors and pagination included.

Bodies, headers and error shapes follow each vendor's documentation (Shopify Admin REST 2024-10,
WooCommerce REST v3 on WordPress); the scenario is chosen by the id asked for, so one server serves
all tests concurrently. A server pages at most PAGE_SIZE rows whatever `limit`/`per_page` asks,
so that pagination is exercised with a handful of records.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

SLOW_S = 1.5  # longer than every timeout the tests use
PAGE_SIZE = 2


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]


@dataclass
class Reply:
    status: int
    body: Any = None  # JSON-serialisable, or bytes sent as is
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0


Route = Callable[["ReplayServer", Request], Reply]


class ReplayServer:
    """ThreadingHTTPServer in a daemon thread; `requests` records what the connector sent."""

    def __init__(self, route: Route) -> None:
        self.route = route
        self.requests: list[Request] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:  # noqa: N802 (http.server naming)
                parts = urlsplit(self.path)
                req = Request("GET", parts.path, {k: v[-1] for k, v in parse_qs(parts.query).items()},
                              {k.lower(): v for k, v in self.headers.items()})
                server.requests.append(req)
                reply = server.route(server, req)
                if reply.delay_s:
                    time.sleep(reply.delay_s)
                body = reply.body if isinstance(reply.body, bytes) else json.dumps(reply.body).encode()
                self.send_response(reply.status)
                headers = {"Content-Type": "application/json; charset=utf-8", **reply.headers}
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._httpd.handle_error = lambda *a: None  # a client that gave up (timeout tests) is expected
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def origin(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> ReplayServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


def _page(rows: list[dict[str, Any]], offset: int, limit: int) -> list[dict[str, Any]]:
    return rows[offset:offset + min(limit, PAGE_SIZE)]


def _cursor(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def _uncursor(token: str) -> dict[str, Any]:
    return json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))


# --- Shopify Admin REST API ----------------------------------------------------------------------------------------

SHOPIFY_TOKEN = "shpat_test_0123456789abcdef"
SHOPIFY_VERSION = "2024-10"
SHOPIFY_BOB = 207119551
SHOPIFY_LAURA = 207119552
SHOPIFY_SLOW = 207119777
SHOPIFY_BROKEN_ORDERS = 207119888  # page 2 of the orders answers 503
SHOPIFY_429 = 429
SHOPIFY_500 = 500


def _shopify_customer(cid: int, first: str, last: str, email: str, *, orders_count: int, total_spent: str,
                      tags: str = "", phone: str | None = None) -> dict[str, Any]:
    return {
        "id": cid, "email": email, "created_at": "2024-01-01T14:28:30-05:00",
        "updated_at": "2024-06-01T10:00:00-04:00", "first_name": first, "last_name": last,
        "orders_count": orders_count, "state": "enabled", "total_spent": total_spent,
        "last_order_id": None, "note": None, "verified_email": True, "multipass_identifier": None,
        "tax_exempt": False, "tags": tags, "last_order_name": None, "currency": "USD", "phone": phone,
        "addresses": [], "tax_exemptions": [], "email_marketing_consent": None, "sms_marketing_consent": None,
        "admin_graphql_api_id": f"gid://shopify/Customer/{cid}", "default_address": None,
    }


def _shopify_order(oid: int, number: int, created: str, lines: list[tuple[str, str, int, str]],
                   status: str = "paid") -> dict[str, Any]:
    total = sum(float(price) * qty for _title, _sku, qty, price in lines)
    return {
        "id": oid, "admin_graphql_api_id": f"gid://shopify/Order/{oid}", "name": f"#{number}",
        "order_number": number, "created_at": created, "currency": "USD", "total_price": f"{total:.2f}",
        "subtotal_price": f"{total:.2f}", "total_tax": "0.00", "financial_status": status,
        "fulfillment_status": None, "email": "bob.norman@mail.example.com",
        "line_items": [{"id": oid * 10 + i, "title": title, "sku": sku, "quantity": qty, "price": price,
                        "variant_title": None, "vendor": None, "product_id": 632910392}
                       for i, (title, sku, qty, price) in enumerate(lines)],
    }


SHOPIFY_ORDERS = {
    SHOPIFY_BOB: [
        _shopify_order(450789469, 1005, "2024-06-20T09:10:00-04:00", [("IPod Nano - 8gb", "IPOD2008GREEN", 1,
                                                                        "199.00")]),
        _shopify_order(450789468, 1004, "2024-05-11T12:00:00-04:00", [("IPod Nano - 8gb", "IPOD2008RED", 2, "199.00"),
                                                                       ("Gift wrap", "", 1, "5.00")]),
        _shopify_order(450789467, 1003, "2024-04-02T08:30:00-04:00", [("Earbuds", "EB-1", 1, "49.50")], "refunded"),
        _shopify_order(450789466, 1002, "2024-03-15T16:45:00-04:00", [("Case", "CASE-1", 3, "12.00")]),
        _shopify_order(450789465, 1001, "2024-02-01T11:00:00-05:00", [("Cable", None, 1, "9.99")]),
    ],
    SHOPIFY_LAURA: [],
}
SHOPIFY_ORDERS[SHOPIFY_SLOW] = SHOPIFY_ORDERS[SHOPIFY_BOB][:1]
SHOPIFY_ORDERS[SHOPIFY_BROKEN_ORDERS] = SHOPIFY_ORDERS[SHOPIFY_BOB]
SHOPIFY_CUSTOMERS = {
    SHOPIFY_BOB: _shopify_customer(SHOPIFY_BOB, "Bob", "Norman", "bob.norman@mail.example.com", orders_count=5,
                                   total_spent="647.99", tags="Léon, Noël, vip", phone="+16136120707"),
    SHOPIFY_LAURA: _shopify_customer(SHOPIFY_LAURA, "Laura", "Schmidt", "laura@example.com", orders_count=0,
                                     total_spent="0.00"),
    SHOPIFY_SLOW: _shopify_customer(SHOPIFY_SLOW, "Sam", "Slow", "slow@example.com", orders_count=1,
                                    total_spent="199.00"),
    SHOPIFY_BROKEN_ORDERS: _shopify_customer(SHOPIFY_BROKEN_ORDERS, "Bea", "Broken", "broken@example.com",
                                             orders_count=5, total_spent="647.99"),
}


def shopify_route(server: ReplayServer, req: Request) -> Reply:
    prefix = f"/admin/api/{SHOPIFY_VERSION}"
    if req.headers.get("x-shopify-access-token") != SHOPIFY_TOKEN:
        return Reply(401, {"errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"})
    path = req.path.removeprefix(prefix)
    if path.startswith("/customers/") and path.endswith(".json") and path != "/customers/search.json":
        cid = path.removeprefix("/customers/").removesuffix(".json")
        if cid == str(SHOPIFY_429):
            return Reply(429, {"errors": "Exceeded 2 calls per second for api client. "
                                         "Reduce request rates to resume uninterrupted service."},
                         {"Retry-After": "2.0"})
        if cid == str(SHOPIFY_500):
            return Reply(500, {"errors": "Internal Server Error"})
        customer = SHOPIFY_CUSTOMERS.get(int(cid)) if cid.isdigit() else None
        if customer is None:
            return Reply(404, {"errors": "Not Found"})
        return Reply(200, {"customer": customer}, delay_s=SLOW_S if customer["id"] == SHOPIFY_SLOW else 0)
    if path == "/customers/search.json":
        q = req.query.get("query", "")
        email = q.removeprefix("email:").lower() if q.startswith("email:") else None
        # Shopify's search is case-insensitive and also matches partial words (the near miss in the tests)
        found = [c for c in SHOPIFY_CUSTOMERS.values()
                 if email and (c["email"] == email or c["email"].split("@")[0] == email.split("@")[0])]
        return Reply(200, {"customers": found})
    if path == "/orders.json":
        return _shopify_orders(server, req, prefix)
    return Reply(404, {"errors": "Not Found"})


def _shopify_orders(server: ReplayServer, req: Request, prefix: str) -> Reply:
    limit = int(req.query.get("limit", "50"))
    if "page_info" in req.query:
        if set(req.query) - {"page_info", "limit", "fields"}:
            return Reply(400, {"errors": {"page_info": ["page_info cannot be combined with other filters"]}})
        state = _uncursor(req.query["page_info"])
    else:
        if req.query.get("status") != "any":
            return Reply(200, {"orders": []})  # default status=open: none of the replayed orders
        state = {"customer_id": int(req.query["customer_id"]), "offset": 0}
    cid, offset = state["customer_id"], state["offset"]
    if cid == SHOPIFY_BROKEN_ORDERS and offset > 0:
        return Reply(503, {"errors": "Service Unavailable"})
    rows = SHOPIFY_ORDERS.get(cid, [])
    page = _page(rows, offset, limit)
    step = min(limit, PAGE_SIZE)
    links = []
    if offset > 0:
        prev = urlencode({"limit": limit, "page_info": _cursor({"customer_id": cid, "offset": max(0, offset - step)})})
        links.append(f'<{server.origin}{prefix}/orders.json?{prev}>; rel="previous"')
    if offset + step < len(rows):
        nxt = urlencode({"limit": limit, "page_info": _cursor({"customer_id": cid, "offset": offset + step})})
        links.append(f'<{server.origin}{prefix}/orders.json?{nxt}>; rel="next"')
    return Reply(200, {"orders": page}, {"Link": ", ".join(links)} if links else {})


# --- WooCommerce REST API v3 ---------------------------------------------------------------------------------------

WOO_KEY = "ck_0123456789abcdef0123456789abcdef01234567"
WOO_SECRET = "cs_0123456789abcdef0123456789abcdef01234567"
WOO_JOHN = 25
WOO_SLOW = 777
WOO_500 = 500


def _woo_customer(cid: int, first: str, last: str, email: str, phone: str) -> dict[str, Any]:
    address = {"first_name": first, "last_name": last, "company": "", "address_1": "969 Market",
               "address_2": "", "city": "San Francisco", "state": "CA", "postcode": "94103", "country": "US"}
    return {
        "id": cid, "date_created": "2024-03-21T16:09:28", "date_created_gmt": "2024-03-21T19:09:28",
        "date_modified": "2024-03-21T16:09:30", "date_modified_gmt": "2024-03-21T19:09:30", "email": email,
        "first_name": first, "last_name": last, "role": "customer", "username": email.split("@")[0],
        "billing": {**address, "email": email, "phone": phone}, "shipping": address,
        "is_paying_customer": True, "avatar_url": "https://secure.gravatar.com/avatar/?s=96", "meta_data": [],
        "_links": {"self": [{"href": f"/wp-json/wc/v3/customers/{cid}"}]},
    }


def _site_time(gmt: str) -> str:
    """The shop's local time (UTC-3 here), which WooCommerce sends without an offset."""
    return (datetime.fromisoformat(gmt) - timedelta(hours=3)).isoformat()


def _woo_order(oid: int, customer: int, status: str, created_gmt: str, lines: list[tuple[str, str, int, float]],
               currency: str = "EUR") -> dict[str, Any]:
    total = sum(price * qty for _n, _s, qty, price in lines)
    return {
        "id": oid, "parent_id": 0, "number": str(oid), "order_key": f"wc_order_{oid}", "created_via": "checkout",
        "version": "8.9.1", "status": status, "currency": currency, "date_created": _site_time(created_gmt),
        "date_created_gmt": created_gmt, "discount_total": "0.00", "shipping_total": "0.00", "total": f"{total:.2f}",
        "total_tax": "0.00", "customer_id": customer, "billing": {}, "shipping": {}, "payment_method": "bacs",
        "line_items": [{"id": oid * 10 + i, "name": name, "product_id": 93, "variation_id": 0, "quantity": qty,
                        "tax_class": "", "subtotal": f"{price * qty:.2f}", "total": f"{price * qty:.2f}",
                        "sku": sku, "price": price, "meta_data": []}
                       for i, (name, sku, qty, price) in enumerate(lines)],
    }


WOO_CUSTOMERS = {
    WOO_JOHN: _woo_customer(WOO_JOHN, "John", "Doe", "john.doe@example.com", "(555) 555-5555"),
    WOO_SLOW: _woo_customer(WOO_SLOW, "Sally", "Slow", "sally@example.com", ""),
}
WOO_ORDERS = {
    WOO_JOHN: [
        _woo_order(727, WOO_JOHN, "processing", "2024-06-02T12:00:00", [("Woo Single #1", "WS-1", 2, 9.0),
                                                                          ("Ship Your Idea", "", 1, 21.99)]),
        _woo_order(726, WOO_JOHN, "completed", "2024-05-01T10:00:00", [("Hoodie", "HOOD-L", 1, 45.0)]),
        _woo_order(725, WOO_JOHN, "cancelled", "2024-04-01T10:00:00", [("Beanie", "BEANIE", 1, 18.0)]),
    ],
    WOO_SLOW: [],
}


def _woo_error(status: int, code: str, message: str) -> Reply:
    return Reply(status, {"code": code, "message": message, "data": {"status": status}})


def woo_route(server: ReplayServer, req: Request) -> Reply:
    expected = "Basic " + base64.b64encode(f"{WOO_KEY}:{WOO_SECRET}".encode()).decode()
    if req.headers.get("authorization") != expected:
        return _woo_error(401, "woocommerce_rest_cannot_view", "Sorry, you cannot list resources.")
    path = req.path.removeprefix("/wp-json/wc/v3")
    if path.startswith("/customers/"):
        cid = path.removeprefix("/customers/")
        if cid == str(WOO_500):
            return Reply(500, {"code": "internal_server_error",
                               "message": "<p>There has been a critical error on this website.</p>",
                               "data": {"status": 500}, "additional_errors": []})
        customer = WOO_CUSTOMERS.get(int(cid)) if cid.isdigit() else None
        if customer is None:
            return _woo_error(404, "woocommerce_rest_invalid_id", "Invalid ID.")
        return Reply(200, customer, delay_s=SLOW_S if customer["id"] == WOO_SLOW else 0)
    if path == "/customers":
        role = req.query.get("role", "customer")
        # WordPress compares emails with MySQL's case-insensitive collation
        found = [c for c in WOO_CUSTOMERS.values()
                 if c["email"] == req.query.get("email", "").lower() and role in ("all", c["role"])]
        return Reply(200, found, {"X-WP-Total": str(len(found)), "X-WP-TotalPages": "1" if found else "0"})
    if path == "/orders":
        rows = WOO_ORDERS.get(int(req.query.get("customer", "0")), [])
        per_page, page = int(req.query.get("per_page", "10")), int(req.query.get("page", "1"))
        step = min(per_page, PAGE_SIZE)
        pages = -(-len(rows) // step)
        if page > max(pages, 1):
            return _woo_error(400, "rest_post_invalid_page_number",
                              "The page number requested is larger than the number of pages available.")
        links = []
        base = f"{server.origin}/wp-json/wc/v3/orders?customer={req.query.get('customer')}&per_page={per_page}"
        if page > 1:
            links.append(f'<{base}&page={page - 1}>; rel="prev"')
        if page < pages:
            links.append(f'<{base}&page={page + 1}>; rel="next"')
        headers = {"X-WP-Total": str(len(rows)), "X-WP-TotalPages": str(pages)}
        if links:
            headers["Link"] = ", ".join(links)
        return Reply(200, rows[(page - 1) * step:page * step], headers)
    return _woo_error(404, "rest_no_route", "No route was found matching the URL and request method.")


# --- the generic HTTP contract (docs/crm.md) -----------------------------------------------------------------------

HTTP_TOKEN = "tok_merchant_secret_42"
HTTP_MIA = {
    "external_id": "c1", "name": "Mia Jensen", "email": "mia@example.com", "phone": "+45 1234 5678",
    "created_at": "2023-11-05T09:00:00Z", "tags": ["vip", "headphones"],
    "orders": [
        {"external_id": "o-2", "number": "2002", "placed_at": "2024-05-02T10:15:00+02:00", "total": 129.9,
         "currency": "EUR", "status": "shipped",
         "items": [{"title": "Nordlys H1 headphones", "sku": "NA-H1", "quantity": 1, "price": 129.9}]},
        {"external_id": "o-1", "placed_at": "2024-01-10T08:00:00Z", "total": 39.8, "currency": "EUR",
         "items": [{"title": "Ear cushions", "sku": "NA-C1", "quantity": 2, "price": 19.9}]},
    ],
}


def http_route(server: ReplayServer, req: Request) -> Reply:
    if req.path != "/crm":
        return Reply(404, {"error": "not found"})
    if req.headers.get("authorization") != f"Bearer {HTTP_TOKEN}":
        return Reply(401, {"error": "invalid token"})
    key = req.query.get("customer_id") or req.query.get("email")
    match key:
        case "c1" | "mia@example.com":
            return Reply(200, HTTP_MIA)
        case "bad_shape":
            return Reply(200, {"name": "No Id", "orders": [{"external_id": "x", "total": "lots"}]})
        case "not_json":
            return Reply(200, b"<html><body>Welcome to our shop!</body></html>", {"Content-Type": "text/html"})
        case "boom":
            return Reply(500, {"error": "database is down"})
        case "slow":
            return Reply(200, HTTP_MIA, delay_s=SLOW_S)
    return Reply(404, {"error": "no such customer"})
