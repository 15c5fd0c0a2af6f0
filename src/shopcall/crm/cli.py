"""`shopcall crm ...`: load customers and orders into the built-in store."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

crm_app = typer.Typer(help="Customer data shown in the agent console's CRM panel.", no_args_is_help=True)
err = Console(stderr=True)
out = Console()


class Format(StrEnum):
    csv = "csv"
    json = "json"


@crm_app.command("import")
def import_cmd(
    file: Annotated[Path, typer.Argument(help="CSV or JSON file (formats: docs/crm.md)")],
    app_id: Annotated[str, typer.Option("--app", help="App (tenant) that owns the customers")],
    fmt: Annotated[Format | None, typer.Option("--format", help="Default: from the file extension")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Validate and count, write nothing")] = False,
    data_dir: Annotated[Path | None, typer.Option("--data-dir", help="Data folder (env SHOPCALL_DATA_DIR)")] = None,
) -> None:
    """Create or update customers and their orders; all or nothing."""
    from shopcall.config import load_settings
    from shopcall.crm.importer import CrmImportError, import_customers, load_file
    from shopcall.db.engine import Database

    if not file.is_file():
        err.print(f"[red]error:[/red] no such file: {file}")
        raise typer.Exit(2)
    try:
        settings = load_settings(data_dir=data_dir)
    except Exception as e:  # pydantic validation or a missing TOML file
        err.print(f"[red]configuration error:[/red] {e}")
        raise typer.Exit(2) from None
    try:
        with err.status(f"Reading {file.name}…"):
            customers = load_file(file, fmt.value if fmt else None)
        err.print(f"{file.name}: {len(customers)} customers, {sum(len(c.orders) for c in customers)} orders, valid")
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        db = Database(settings.db_url)
        try:
            db.migrate()
            with err.status("Writing (one transaction)…"):
                summary = import_customers(db, app_id, customers, dry_run=dry_run)
        finally:
            db.dispose()
    except CrmImportError as e:
        err.print(f"[red]import rejected, nothing was written[/red] ({len(e.errors)} problem(s)):")
        for line in str(e).splitlines():
            err.print(f"  {line}", markup=False, highlight=False)
        raise typer.Exit(2) from None
    table = Table(title=f"{'Dry run: would import' if dry_run else 'Imported'} into app {app_id}")
    for col in ("", "created", "updated", "unchanged"):
        table.add_column(col, justify="right" if col else "left")
    table.add_row("customers", *(str(n) for n in (summary.customers_created, summary.customers_updated,
                                                  summary.customers_unchanged)))
    table.add_row("orders", *(str(n) for n in (summary.orders_created, summary.orders_updated,
                                               summary.orders_unchanged)))
    out.print(table)
