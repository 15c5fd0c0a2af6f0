"""Import customers and orders from CSV or JSON into the built-in store: validated first, written atomically.

Formats are documented in docs/crm.md; examples in tests/crm/data/.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, field_validator, model_validator
from sqlalchemy import select
from sqlalchemy.orm import Session

from shopcall.crm.model import as_utc
from shopcall.db.engine import Database
from shopcall.db.models import App, Customer, Order

FileFormat = Literal["csv", "json"]
T = TypeVar("T")
MAX_TOTAL = Decimal("20000000")  # orders.total_cents is a 32-bit integer
MAX_REPORTED_ERRORS = 25
MAX_CELL = 10_000  # characters; the longest real value (an item title) is 300
CSV_COLUMNS = ("customer_id", "name", "email", "order_id", "placed_at", "currency", "order_total",
               "item_title", "item_sku", "item_quantity", "item_price")

Id = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Money = Annotated[Decimal, Field(ge=0, le=MAX_TOTAL, decimal_places=2)]
Currency = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[A-Za-z]{3}$", to_upper=True)]
Email = Annotated[str, StringConstraints(strip_whitespace=True, max_length=320, pattern=r"^[^@\s]+@[^@\s]+$")]


class CrmImportError(Exception):
    """The file was rejected; nothing was written. `errors` are one line each, with row or position."""

    def __init__(self, errors: Sequence[str]) -> None:
        self.errors = list(errors)
        shown = self.errors[:MAX_REPORTED_ERRORS]
        more = len(self.errors) - len(shown)
        super().__init__("\n".join(shown + ([f"... and {more} more"] if more else [])))


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", coerce_numbers_to_str=True)


class ImportItem(_Strict):
    title: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]
    sku: Annotated[str, StringConstraints(strip_whitespace=True, max_length=100)] | None = None
    quantity: int = Field(ge=1, le=1_000_000)
    price: Money


class ImportOrder(_Strict):
    external_id: Id
    placed_at: datetime
    currency: Currency
    total: Money | None = Field(None, description="defaults to the sum of quantity × price")
    items: list[ImportItem] = Field(default_factory=list)

    @model_validator(mode="after")
    def _total(self) -> ImportOrder:
        if self.total is None:
            if not self.items:
                raise ValueError("total is required when the order has no items")
            self.total = sum((i.price * i.quantity for i in self.items), Decimal(0))
            if self.total > MAX_TOTAL:
                raise ValueError(f"total of the items exceeds {MAX_TOTAL}")
        return self


class ImportCustomer(_Strict):
    external_id: Id
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    email: Email | None = None
    orders: list[ImportOrder] = Field(default_factory=list)

    @field_validator("orders")
    @classmethod
    def _unique_orders(cls, v: list[ImportOrder]) -> list[ImportOrder]:
        seen: set[str] = set()
        for o in v:
            if o.external_id in seen:
                raise ValueError(f"order {o.external_id!r} appears twice")
            seen.add(o.external_id)
        return v


@dataclass
class ImportSummary:
    customers_created: int = 0
    customers_updated: int = 0
    customers_unchanged: int = 0
    orders_created: int = 0
    orders_updated: int = 0
    orders_unchanged: int = 0
    dry_run: bool = False

    def as_dict(self) -> dict[str, int | bool]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


# --- reading -----------------------------------------------------------------------------------------------------


def detect_format(path: Path, fmt: str | None = None) -> FileFormat:
    chosen = (fmt or path.suffix.lstrip(".")).lower()
    if chosen == "csv":
        return "csv"
    if chosen == "json":
        return "json"
    raise CrmImportError([f"cannot tell the format of {path.name}: use a .csv or .json file or --format"])


def load_file(path: Path, fmt: str | None = None) -> list[ImportCustomer]:
    """Parse and validate a whole file; every problem is reported at once."""
    kind = detect_format(path, fmt)
    try:
        data = path.read_bytes()
    except OSError as e:
        raise CrmImportError([f"cannot read {path}: {e}"]) from None
    text = decode(data, "row" if kind == "csv" else "line")
    return parse_json(text) if kind == "json" else parse_csv(text)


def decode(data: bytes, unit: str = "row") -> str:
    """UTF-8 (with or without BOM); anything else is rejected with the row of the first bad byte, because a
    guessed encoding would store mangled names."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise CrmImportError(["the file is UTF-16: save it as UTF-8 (CSV UTF-8 in a spreadsheet)"])
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        row = data.count(b"\n", 0, e.start) + 1
        column = e.start - (data.rfind(b"\n", 0, e.start) + 1) + 1
        raise CrmImportError([f"{unit} {row}: not UTF-8 (byte 0x{data[e.start]:02x} at character {column}); "
                              "save the file as UTF-8"]) from None


def parse_json(text: str) -> list[ImportCustomer]:
    """A list of customers, or {"customers": [...]}; each customer holds its orders."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise CrmImportError([f"not valid JSON: line {e.lineno} column {e.colno}: {e.msg}"]) from None
    if isinstance(data, dict) and set(data) == {"customers"}:
        data = data["customers"]
    if not isinstance(data, list):
        raise CrmImportError(['the JSON must be a list of customers or {"customers": [...]}'])
    out: list[ImportCustomer] = []
    errors: list[str] = []
    first_seen: dict[str, int] = {}
    for n, raw in enumerate(data, start=1):
        ext = raw.get("external_id") if isinstance(raw, dict) else None
        where = f"customer #{n}" + (f" ({ext})" if isinstance(ext, str | int) else "")
        if isinstance(ext, str | int) and str(ext).strip() in first_seen:
            errors.append(f"{where}: external_id also used by customer #{first_seen[str(ext).strip()]}")
            continue
        if isinstance(ext, str | int):
            first_seen[str(ext).strip()] = n
        try:
            out.append(ImportCustomer.model_validate(raw))
        except ValidationError as e:
            errors += [f"{where}: {msg}" for msg in _messages(e)]
    if errors:
        raise CrmImportError(errors)
    return out


class _CsvRow(_Strict):
    """One line of an order (or a customer without orders). Blank cells repeat the row above's values."""

    customer_id: Id
    name: str | None = None
    email: str | None = None
    order_id: Id | None = None
    placed_at: datetime | None = None
    currency: Currency | None = None
    order_total: Money | None = None
    item_title: str | None = None
    item_sku: str | None = None
    item_quantity: int | None = None
    item_price: Decimal | None = None

    @model_validator(mode="after")
    def _coherent(self) -> _CsvRow:
        order_cells = (self.placed_at, self.currency, self.order_total, self.item_title, self.item_sku,
                       self.item_quantity, self.item_price)
        if self.order_id is None and any(v is not None for v in order_cells):
            raise ValueError("order or item cells are filled but order_id is empty")
        item_cells = (self.item_title, self.item_sku, self.item_quantity, self.item_price)
        if any(v is not None for v in item_cells) and None in (self.item_title, self.item_quantity, self.item_price):
            raise ValueError("an item needs item_title, item_quantity and item_price")
        return self


def _csv_rows(text: str) -> Iterator[tuple[int, list[str]]]:
    """(row number, cells): the number is the line the row starts on. Malformed CSV raises CrmImportError
    naming that row: an unclosed quote (which would swallow the rest of the file), a cell too large."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    while True:
        start = reader.line_num + 1
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as e:
            if "field larger than field limit" in str(e):
                raise CrmImportError([f"row {start}: a cell is longer than {csv.field_size_limit()} characters "
                                      f"(at most {MAX_CELL})"]) from None
            if "unexpected end of data" in str(e):
                raise CrmImportError([f"row {start}: a quoted cell is never closed (its \" runs to the end of "
                                      "the file)"]) from None
            raise CrmImportError([f"row {start}: not valid CSV ({e})"]) from None
        if cells:
            yield start, cells


def _cell_problem(value: str) -> str | None:
    if "\x00" in value:
        return "contains a NUL character"
    if "\n" in value or "\r" in value:
        return "spans several lines (is a quote not closed?)"
    if len(value) > MAX_CELL:
        return f"is {len(value)} characters long (at most {MAX_CELL})"
    return None


def parse_csv(text: str) -> list[ImportCustomer]:
    """One row per order line (see docs/crm.md); rows are grouped by customer_id, then order_id."""
    rows = _csv_rows(text)
    first = next(rows, None)
    header = [h.strip() for h in first[1]] if first else []
    if first and (bad := next((h for h in header if _cell_problem(h)), None)) is not None:
        raise CrmImportError([f"row {first[0]} (header): column {bad[:40]!r} {_cell_problem(bad)}"])
    unknown = [h for h in header if h not in CSV_COLUMNS]
    missing = [h for h in ("customer_id", "name") if h not in header]
    if unknown or missing:
        problems = ([f"unknown column(s): {', '.join(unknown)}"] if unknown else []) + (
            [f"missing column(s): {', '.join(missing)}"] if missing else [])
        raise CrmImportError([f"row 1 (header): {p}; the columns are {', '.join(CSV_COLUMNS)}" for p in problems])
    errors: list[str] = []
    customers: dict[str, dict[str, Any]] = {}
    for line, values in rows:
        if len(values) > len(header):
            errors.append(f"row {line}: more cells than columns")
            continue
        problems = [f"row {line}, column {col}: {why}" for col, v in zip(header, values, strict=False)
                    if (why := _cell_problem(v)) is not None]
        if problems:
            errors += problems
            continue
        cells: dict[str, str | None] = {k: (v.strip() or None) for k, v in zip(header, values, strict=False)}
        cells.update((k, None) for k in header[len(values):])
        if not any(cells.values()):
            continue  # blank line
        try:
            row = _CsvRow.model_validate(cells)
        except ValidationError as e:
            errors += [f"row {line}: {msg}" for msg in _messages(e)]
            continue
        errors += _merge_row(customers, row, line)
    built: list[ImportCustomer] = []
    for ext, c in customers.items():
        data = {"external_id": ext, "name": c["name"], "email": c["email"],
                "orders": [{k: v for k, v in o.items() if k != "row"} for o in c["orders"].values()]}
        data = {k: v for k, v in data.items() if v is not None}
        try:
            built.append(ImportCustomer.model_validate(data))
        except ValidationError as e:
            errors += [f"row {c['row']} (customer {ext}): {msg}" for msg in _messages(e)]
    if errors:
        raise CrmImportError(errors)
    return built


def _merge_row(customers: dict[str, dict[str, Any]], row: _CsvRow, line: int) -> list[str]:
    """Fold a row into its customer and order; a cell that contradicts an earlier row is an error."""
    errors: list[str] = []
    c = customers.setdefault(row.customer_id, {"row": line, "name": None, "email": None, "orders": {}})
    for key in ("name", "email"):
        errors += _agree(c, key, getattr(row, key), line, f"customer {row.customer_id}")
    if row.order_id is None:
        return errors
    o = c["orders"].setdefault(row.order_id, {"row": line, "external_id": row.order_id, "placed_at": None,
                                              "currency": None, "total": None, "items": []})
    for key, value in (("placed_at", row.placed_at), ("currency", row.currency), ("total", row.order_total)):
        errors += _agree(o, key, value, line, f"order {row.order_id}")
    if row.item_title is not None:
        o["items"].append({"title": row.item_title, "sku": row.item_sku, "quantity": row.item_quantity,
                           "price": row.item_price})
    return errors


def _agree(target: dict[str, Any], key: str, value: Any, line: int, what: str) -> list[str]:
    if value is None:
        return []
    if target[key] is None:
        target[key] = value
        return []
    if target[key] != value:
        return [f"row {line}: {key} of {what} differs from row {target['row']}"]
    return []


def _messages(e: ValidationError) -> Iterator[str]:
    for err in e.errors(include_url=False):
        loc = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in err["loc"]).lstrip(".")
        msg = err["msg"].removeprefix("Value error, ")
        yield f"{loc}: {msg}" if loc else msg


# --- writing -----------------------------------------------------------------------------------------------------


def import_customers(db: Database, app_id: str, customers: Sequence[ImportCustomer], *,
                     dry_run: bool = False) -> ImportSummary:
    """Upsert in one transaction: customers by (app, external_id), orders by (customer, external_id).

    Rows not in the file are left alone. On any error nothing is written (`Database.session` rolls back).
    """
    summary = ImportSummary(dry_run=dry_run)
    try:
        with db.session() as s:
            if s.get(App, app_id) is None:
                raise CrmImportError([f"no app {app_id!r} (create one with `shopcall apps create NAME`)"])
            existing: dict[str, Customer] = {}
            for chunk in _chunks([c.external_id for c in customers]):
                q = select(Customer).where(Customer.app_id == app_id, Customer.external_id.in_(chunk))
                existing.update((row.external_id, row) for row in s.scalars(q))
            rows: list[tuple[ImportCustomer, Customer]] = []
            for c in customers:
                row = existing.get(c.external_id)
                if row is None:
                    row = Customer(app_id=app_id, external_id=c.external_id, name=c.name, email=c.email)
                    s.add(row)
                    summary.customers_created += 1
                elif (row.name, row.email) != (c.name, c.email):
                    row.name, row.email = c.name, c.email
                    summary.customers_updated += 1
                else:
                    summary.customers_unchanged += 1
                rows.append((c, row))
            s.flush()  # ids for the new customers
            stored: dict[tuple[int, str], Order] = {}
            for ids in _chunks([row.id for _, row in rows if row.id is not None]):
                for old in s.scalars(select(Order).where(Order.customer_id.in_(ids)).order_by(Order.id.desc())):
                    stored[(old.customer_id, old.external_id)] = old  # duplicates from older data: the oldest wins
            for c, row in rows:
                for new in c.orders:
                    _upsert_order(s, stored.get((row.id, new.external_id)), row.id, new, summary)
            if dry_run:
                raise _DryRun
    except _DryRun:
        pass
    return summary


def import_file(db: Database, app_id: str, path: Path, fmt: str | None = None, *,
                dry_run: bool = False) -> ImportSummary:
    return import_customers(db, app_id, load_file(path, fmt), dry_run=dry_run)


class _DryRun(Exception):
    """Raised inside the transaction so that it rolls back."""


def _upsert_order(s: Session, current: Order | None, customer_id: int, o: ImportOrder, summary: ImportSummary) -> None:
    placed = as_utc(o.placed_at).replace(tzinfo=None)  # the tables store naive UTC
    cents = int((o.total or Decimal(0)) * 100)
    items = [{"title": i.title, "sku": i.sku, "qty": i.quantity, "price_cents": int(i.price * 100)} for i in o.items]
    if current is None:
        s.add(Order(customer_id=customer_id, external_id=o.external_id, placed_at=placed, total_cents=cents,
                    currency=o.currency, items=items))
        summary.orders_created += 1
    elif (current.placed_at, current.total_cents, current.currency, current.items) != (placed, cents, o.currency,
                                                                                        items):
        current.placed_at, current.total_cents, current.currency, current.items = placed, cents, o.currency, items
        summary.orders_updated += 1
    else:
        summary.orders_unchanged += 1


def _chunks(values: list[T], size: int = 500) -> Iterator[list[T]]:
    for i in range(0, len(values), size):
        yield values[i:i + size]
