"""`shopcall` command line: serve, demo, apps, token."""

from __future__ import annotations

import json
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.panel import Panel

from shopcall.config import Settings, load_settings
from shopcall.crm.cli import crm_app

if TYPE_CHECKING:
    from shopcall.db.engine import Database
    from shopcall.privacy.service import Privacy

app = typer.Typer(help="ShopCall: video consultation for online shops.", no_args_is_help=True,
                  pretty_exceptions_show_locals=False)
apps_cmd = typer.Typer(help="Manage apps (tenants).", no_args_is_help=True)
agents_cmd = typer.Typer(help="Manage agent accounts (console logins).", no_args_is_help=True)
app.add_typer(apps_cmd, name="apps")
app.add_typer(agents_cmd, name="agents")
app.add_typer(crm_app, name="crm")
privacy_cmd = typer.Typer(help="Subject access and erasure: one shopper's data.", no_args_is_help=True)
app.add_typer(privacy_cmd, name="privacy")
regions_cmd = typer.Typer(help="Data regions (where each app's recordings are stored).", no_args_is_help=True)
app.add_typer(regions_cmd, name="regions")
keys_cmd = typer.Typer(help="Encryption keys at rest (the keyring).", no_args_is_help=True)
app.add_typer(keys_cmd, name="keys")
console = Console(stderr=True)

DataDir = Annotated[Path | None, typer.Option("--data-dir", help="Data folder (env SHOPCALL_DATA_DIR)")]
Port = Annotated[int | None, typer.Option("--port", "-p", help="HTTP port (env SHOPCALL_PORT)")]
Host = Annotated[str | None, typer.Option("--host", help="Bind address (env SHOPCALL_HOST)")]
TlsCert = Annotated[Path | None, typer.Option("--tls-cert", help="Serve https/wss with this PEM certificate "
                                               "(chain) (env SHOPCALL_TLS_CERT); needs --tls-key")]
TlsKey = Annotated[Path | None, typer.Option("--tls-key", help="PEM private key of --tls-cert (env SHOPCALL_TLS_KEY)")]
TlsSelfSigned = Annotated[bool, typer.Option("--tls-self-signed", help="Serve https with a self-signed certificate "
                                             "made in <data_dir>/tls (LAN proof of concept; env "
                                             "SHOPCALL_TLS_SELF_SIGNED)")]


def _settings(**kw: object) -> Settings:
    try:
        return load_settings(**kw)
    except Exception as e:  # pydantic validation or a missing TOML file
        console.print(f"[red]configuration error:[/red] {e}")
        raise typer.Exit(2) from None


def _run(settings: Settings, demo: bool) -> None:
    import uvicorn

    from shopcall.api.deps import services_of
    from shopcall.app import create_app
    from shopcall.logs import configure
    from shopcall.signalling.protocol import MAX_FRAME_BYTES
    from shopcall.tls import TlsError, server_tls

    addresses = _host_addresses() if settings.tls_self_signed else []
    try:
        tls = server_tls(settings, addresses)
    except TlsError as e:
        from rich.markup import escape

        console.print(f"[red]error:[/red] {escape(str(e))}", soft_wrap=True)
        raise typer.Exit(2) from None
    configure(settings.log_level)
    base = settings.base_url

    def banner() -> None:
        if tls is not None:
            kind = "self-signed certificate (browsers warn until it is accepted)" if tls.self_signed else "certificate"
            console.print(f"TLS: https and wss with the {kind} {tls.cert}, valid until {tls.not_after:%Y-%m-%d}, "
                          f"SHA-256 {tls.fingerprint}", soft_wrap=True)
            if tls.self_signed and settings.host in ("0.0.0.0", "::") and addresses:
                console.print("On the LAN: " + ", ".join(f"https://{h}:{settings.port}" for h in addresses),
                              soft_wrap=True)
        if not demo:
            console.print(f"ShopCall is running: API {base}/v1, docs {base}/docs, health {base}/healthz")
            return
        console.print(Panel.fit(
            f"[bold]ShopCall demo is running[/bold]\n\n"
            f"Shopper (product page):  [cyan]{base}/demo/shop[/cyan]\n"
            f"Agent console:           [cyan]{base}/console[/cyan]\n"
            f"                         (demo logins: Anna, Ben)\n"
            f"API docs:                [cyan]{base}/docs[/cyan]\n"
            f"Health:                  [cyan]{base}/healthz[/cyan]\n\n"
            "Open the shop and the console in two browser windows,\n"
            "press 'Video call an expert' on the shop page and answer\n"
            "in the console. Ctrl+C stops everything.", title="ShopCall"))

    application = create_app(settings, demo=demo, on_ready=banner)
    live = services_of(application).live

    class Server(uvicorn.Server):
        def handle_exit(self, sig: int, frame: FrameType | None) -> None:
            # before uvicorn closes the sockets: a stop is a restart for the calls, not their end
            live.prepare_restart()
            super().handle_exit(sig, frame)

    # X-Forwarded-* are believed only from settings.trusted_proxies (shopcall.api.proxy), not by uvicorn
    config = uvicorn.Config(application, host=settings.host, port=settings.port, log_level=settings.log_level,
                            ws_ping_interval=20, ws_ping_timeout=20, ws_max_size=MAX_FRAME_BYTES,
                            proxy_headers=False,
                            ssl_certfile=str(tls.cert) if tls else None, ssl_keyfile=str(tls.key) if tls else None)
    Server(config).run()


def _host_addresses() -> list[str]:
    """This host's IPv4 addresses other than loopback, for the self-signed certificate and the banner."""
    from shopcall.turn.peers import list_interfaces

    try:
        return [str(a) for i in list_interfaces() if i.up for a in i.addresses
                if a.version == 4 and not (a.is_loopback or a.is_link_local)]
    except RuntimeError:  # no iproute2: localhost and the host name still work
        return []


@app.command()
def serve(port: Port = None, host: Host = None, data_dir: DataDir = None, tls_cert: TlsCert = None,
          tls_key: TlsKey = None, tls_self_signed: TlsSelfSigned = False) -> None:
    """Start the API + signalling server and a supervised Janus."""
    _run(_settings(port=port, host=host, data_dir=data_dir, tls_cert=tls_cert, tls_key=tls_key,
                   tls_self_signed=tls_self_signed or None), demo=False)


@app.command()
def demo(port: Port = None, host: Host = None, data_dir: DataDir = None, tls_cert: TlsCert = None,
         tls_key: TlsKey = None, tls_self_signed: TlsSelfSigned = False) -> None:
    """`serve` plus a seeded demo shop; prints the URLs to open."""
    _run(_settings(port=port, host=host, data_dir=data_dir, tls_cert=tls_cert, tls_key=tls_key,
                   tls_self_signed=tls_self_signed or None), demo=True)


def _db(settings: Settings) -> Database:
    from shopcall.db.engine import Database

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    db = Database(settings.db_url)
    db.migrate()
    return db


@apps_cmd.command("create")
def apps_create(name: str, data_dir: DataDir = None,
                as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output")] = False) -> None:
    """Create an app; prints its id and secret (the secret is shown only this once)."""
    from shopcall.rooms.apps import create_app

    try:
        application, secret = create_app(_db(_settings(data_dir=data_dir)), name)
    except ValueError as e:
        console.print(f"[red]error:[/red] {e}")
        raise typer.Exit(2) from None
    if as_json:
        print(json.dumps({"app_id": application.id, "name": application.name, "secret": secret}))
        return
    print(f"app_id: {application.id}\nsecret: {secret}")
    console.print("[yellow]Store the secret now: it is not kept and cannot be shown again.[/yellow]")


@apps_cmd.command("list")
def apps_list(data_dir: DataDir = None,
              as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output")] = False) -> None:
    """List apps: id, name and creation time (UTC), oldest first, one per line (tab-separated)."""
    from shopcall.api.app_store import AppStore

    found = AppStore(_db(_settings(data_dir=data_dir))).all()
    if as_json:
        print(json.dumps([{"app_id": a.id, "name": a.name, "created_at": a.created_at.isoformat(), "region": a.region}
                          for a in found]))
        return
    if not found:
        console.print("no apps yet: create one with `shopcall apps create NAME`")
    for a in found:
        name = "".join(c if c.isprintable() else " " for c in a.name)  # a tab or newline would split the row
        print(f"{a.id}\t{name}\t{a.created_at:%Y-%m-%d %H:%M}")


@agents_cmd.command("create")
def agents_create(
    app_id: Annotated[str, typer.Option("--app", help="App id")],
    identity: Annotated[str, typer.Option("--identity", help="Login name")],
    name: Annotated[str, typer.Option("--name", help="Display name")],
    password: Annotated[str, typer.Option("--password", prompt=True, hide_input=True, confirmation_prompt=True,
                                          envvar="SHOPCALL_AGENT_PASSWORD", help="Password (prompted if omitted)")],
    email: Annotated[str | None, typer.Option("--email")] = None,
    role: Annotated[str, typer.Option("--role", help="agent or admin")] = "agent",
    language: Annotated[list[str] | None, typer.Option("--language", help="Skill: a language (repeatable)")] = None,
    category: Annotated[list[str] | None, typer.Option("--category", help="Skill: a product category")] = None,
    max_calls: Annotated[int, typer.Option("--max-calls", help="Concurrent calls")] = 1,
    data_dir: DataDir = None,
) -> None:
    """Create or update an agent (password stored as an argon2 hash)."""
    from shopcall.console.accounts import AccountError, check_password, upsert_agent
    from shopcall.rooms.apps import app_exists

    db = _db(_settings(data_dir=data_dir))
    if not app_exists(db, app_id):
        console.print(f"[red]error:[/red] no app {app_id!r} (see `shopcall apps list`)")
        raise typer.Exit(2)
    try:
        check_password(password)
        agent = upsert_agent(db, app_id, identity, name=name, password=password, email=email, role=role,
                             languages=language, categories=category, max_concurrent=max_calls)
    except AccountError as e:
        console.print(f"[red]error:[/red] {e.message}")
        raise typer.Exit(2) from None
    print(f"agent {agent.identity} ({agent.role}) of {app_id}: languages {agent.languages or '-'}, "
          f"categories {agent.categories or '-'}, up to {agent.max_concurrent} call(s)")


AppOpt = Annotated[str, typer.Option("--app", help="App id")]
IdentityOpt = Annotated[str, typer.Option("--identity", help="The agent's login name")]


def _agent_change(action: str, app_id: str, identity: str, data_dir: Path | None, change: str,
                  password: str | None = None) -> None:
    from shopcall.auth import audit
    from shopcall.console import accounts

    db = _db(_settings(data_dir=data_dir))
    try:
        if change == "password" and password is not None:
            accounts.set_password(db, app_id, identity, password)
        elif change in ("disable", "enable"):
            accounts.set_disabled(db, app_id, identity, change == "disable")
        elif change == "delete":
            accounts.delete_agent(db, app_id, identity)
    except accounts.AccountError as e:
        console.print(f"[red]error:[/red] {e.message}")
        raise typer.Exit(2) from None
    audit.record(db, app_id, "cli", action, agent=identity)
    print(f"agent {identity} of {app_id}: {change} done; their console sessions are ended")


@agents_cmd.command("set-password")
def agents_set_password(
    app_id: AppOpt, identity: IdentityOpt,
    password: Annotated[str, typer.Option("--password", prompt=True, hide_input=True, confirmation_prompt=True,
                                          envvar="SHOPCALL_AGENT_PASSWORD", help="New password (12+ characters)")],
    data_dir: DataDir = None,
) -> None:
    """Set an agent's password; ends their console sessions and refuses their older tokens."""
    _agent_change("agent.password_reset", app_id, identity, data_dir, "password", password)


@agents_cmd.command("disable")
def agents_disable(app_id: AppOpt, identity: IdentityOpt, data_dir: DataDir = None,
                   enable: Annotated[bool, typer.Option("--enable", help="Enable the account again")] = False) -> None:
    """Disable an agent (ends sessions, refuses tokens, blocks sign-in); --enable undoes it."""
    _agent_change("agent.enabled" if enable else "agent.disabled", app_id, identity, data_dir,
                  "enable" if enable else "disable")


@agents_cmd.command("delete")
def agents_delete(app_id: AppOpt, identity: IdentityOpt, data_dir: DataDir = None) -> None:
    """Delete an agent account (ends sessions, refuses tokens)."""
    _agent_change("agent.deleted", app_id, identity, data_dir, "delete")


@apps_cmd.command("rotate-secret")
def apps_rotate_secret(
    app_id: str,
    overlap: Annotated[int, typer.Option("--overlap", help="Minutes the current secret keeps working")] = 60,
    data_dir: DataDir = None,
) -> None:
    """Issue a new app secret (shown once); the current one keeps working for --overlap minutes."""
    from datetime import timedelta

    from shopcall.api.app_store import AppStore
    from shopcall.auth import audit

    if not 0 <= overlap <= 7 * 24 * 60:
        console.print("[red]error:[/red] --overlap must be 0 to 10080 minutes")
        raise typer.Exit(2)
    db = _db(_settings(data_dir=data_dir))
    done = AppStore(db).rotate_secret(app_id, timedelta(minutes=overlap))
    if done is None:
        console.print(f"[red]error:[/red] no app {app_id!r}")
        raise typer.Exit(2)
    audit.record(db, app_id, "cli", "app.secret_rotated", overlap_minutes=overlap)
    print(f"secret: {done[0]}")
    console.print(f"[yellow]The previous secret works for {overlap} more minute(s).[/yellow]")


@apps_cmd.command("delete")
def apps_delete(
    app_id: str,
    yes: Annotated[bool, typer.Option("--yes", help="Confirm: delete the app and all of its data")] = False,
    data_dir: DataDir = None,
) -> None:
    """Delete an app with all of its data (rows, and recordings' files through the storage)."""
    import asyncio

    from shopcall.api.apps import delete_app_data
    from shopcall.app import build_storage

    if not yes:
        console.print("[red]error:[/red] this deletes every row and recording of the app; add --yes")
        raise typer.Exit(2)
    settings = _settings(data_dir=data_dir)
    db = _db(settings)
    storage = build_storage(settings, db)
    if not asyncio.run(delete_app_data(db, storage, None, app_id, "cli")):
        console.print(f"[red]error:[/red] no app {app_id!r}")
        raise typer.Exit(2)
    print(f"app {app_id} deleted with all of its data")


def _privacy(settings: Settings) -> Privacy:
    from shopcall.app import build_storage
    from shopcall.privacy.service import Privacy

    db = _db(settings)
    return Privacy(db, build_storage(settings, db), settings.data_dir / "recordings-raw")


Subject = Annotated[str, typer.Argument(help="The shopper's identity, customer id or email")]


@privacy_cmd.command("export")
def privacy_export(app_id: AppOpt, subject: Subject,
                   out: Annotated[Path, typer.Option("--out", "-o", help="ZIP file to write")],
                   data_dir: DataDir = None) -> None:
    """Write everything about one shopper (rows as JSON, their recordings) to a ZIP file."""
    import shutil

    from shopcall.privacy.service import SubjectNotFound

    privacy = _privacy(_settings(data_dir=data_dir))
    try:
        found = privacy.find(app_id, subject)
    except SubjectNotFound:
        console.print(f"[red]error:[/red] nothing in app {app_id!r} names that shopper")
        raise typer.Exit(2) from None
    with privacy.export(found, "cli") as src, open(out, "wb") as dst:
        shutil.copyfileobj(src, dst)
    print(f"written {out} ({out.stat().st_size} bytes)")


@privacy_cmd.command("erase")
def privacy_erase(app_id: AppOpt, subject: Subject, data_dir: DataDir = None,
                  yes: Annotated[bool, typer.Option("--yes", help="Confirm: erase the shopper everywhere")] = False,
                  ) -> None:
    """Erase one shopper everywhere (rows, recordings they appear in, queued webhooks); prints the report."""
    from shopcall.privacy.service import SubjectNotFound

    if not yes:
        console.print("[red]error:[/red] this erases the shopper and deletes the recordings they appear in; add --yes")
        raise typer.Exit(2)
    privacy = _privacy(_settings(data_dir=data_dir))
    try:
        found = privacy.find(app_id, subject)
    except SubjectNotFound:
        console.print(f"[red]error:[/red] nothing in app {app_id!r} names that shopper")
        raise typer.Exit(2) from None
    print(json.dumps(privacy.erase(found, "cli").as_dict(), indent=2))


@regions_cmd.command("list")
def regions_list(data_dir: DataDir = None) -> None:
    """The regions this server stores data in: name, storage, location."""
    settings = _settings(data_dir=data_dir)
    print(f"local\t{settings.recording_storage}\t{settings.s3_bucket or settings.data_dir / 'recordings'}")
    for name, r in sorted(settings.regions.items()):
        where = f"{r.s3_endpoint_url or 's3'}/{r.s3_bucket}/{r.s3_prefix}" if r.storage == "s3" else \
            str(r.local_dir or settings.data_dir / "recordings")
        print(f"{name}\t{r.storage}\t{where}")


@apps_cmd.command("set-region")
def apps_set_region(
    app_id: str, region: str, data_dir: DataDir = None,
    migrate: Annotated[bool, typer.Option("--migrate", help="Copy the app's recordings into the new region first "
                                          "(then delete the originals); prints a report")] = False,
) -> None:
    """Move an app to a configured data region; refused while it has recordings elsewhere, unless --migrate."""
    from shopcall.api.app_store import AppStore
    from shopcall.app import build_storage
    from shopcall.recording.regions import MigrationRefused, migrate_recordings
    from shopcall.rooms.apps import app_exists

    settings = _settings(data_dir=data_dir)
    if region != "local" and region not in settings.regions:
        console.print(f"[red]error:[/red] region {region!r} is not configured (see `shopcall regions list`)")
        raise typer.Exit(2)
    db = _db(settings)
    if not app_exists(db, app_id):
        console.print(f"[red]error:[/red] no app {app_id!r}")
        raise typer.Exit(2)
    if migrate:
        try:
            report = migrate_recordings(db, build_storage(settings, db), app_id, region)
        except MigrationRefused as e:
            console.print(f"[red]refused:[/red] {e}")
            raise typer.Exit(1) from None
        print(json.dumps(report, indent=2))
    blocking = AppStore(db).change_region(app_id, region)
    if blocking:
        console.print(f"[red]refused:[/red] {blocking} recording(s) are stored in the app's current region; "
                      "delete them first or add --migrate")
        raise typer.Exit(1)
    print(f"app {app_id}: region {region}")


@keys_cmd.command("rotate")
def keys_rotate(app_id: AppOpt, data_dir: DataDir = None) -> None:
    """Give the app a new key version: new recordings use it; older ones stay readable with theirs."""
    from shopcall.auth import audit
    from shopcall.keys.keyring import Keyring, load_master_key
    from shopcall.rooms.apps import app_exists

    settings = _settings(data_dir=data_dir)
    db = _db(settings)
    if not app_exists(db, app_id):
        console.print(f"[red]error:[/red] no app {app_id!r}")
        raise typer.Exit(2)
    version, _ = Keyring(db, load_master_key(settings.data_dir)).rotate(app_id)
    audit.record(db, app_id, "cli", "keys.rotated", version=version)
    print(f"app {app_id}: key version {version} is now current")


@app.command()
def token(
    app_id: Annotated[str, typer.Option("--app", help="App id")],
    identity: Annotated[str, typer.Option("--identity", help="User identity")],
    role: Annotated[str, typer.Option("--role", help="shopper, agent or admin")] = "shopper",
    room: Annotated[list[str] | None, typer.Option("--room", help="Room id to grant (repeatable; * = any)")] = None,
    name: Annotated[str | None, typer.Option("--name", help="Display name")] = None,
    ttl: Annotated[int, typer.Option("--ttl", help="Lifetime in seconds")] = 3600,
    data_dir: DataDir = None,
) -> None:
    """Mint a client token (signed with this server's key)."""
    from shopcall.auth import tokens
    from shopcall.auth.secrets import load_signing_key
    from shopcall.rooms.apps import app_exists

    settings = _settings(data_dir=data_dir)
    if not app_exists(_db(settings), app_id):
        console.print(f"[red]error:[/red] no app {app_id!r} (create one with `shopcall apps create NAME`)")
        raise typer.Exit(2)
    try:
        tok, _exp = tokens.mint(load_signing_key(settings.data_dir), app_id=app_id, identity=identity,
                                role=role, rooms=room or [], name=name, ttl_s=ttl)
    except ValueError as e:
        console.print(f"[red]error:[/red] {e}")
        raise typer.Exit(2) from None
    print(tok)


@app.command()
def openapi() -> None:
    """Print the REST API's OpenAPI document (docs/openapi.json is generated with this)."""
    import tempfile

    from shopcall.app import create_app

    with tempfile.TemporaryDirectory() as tmp:
        spec = create_app(Settings(data_dir=Path(tmp), media_backend="none")).openapi()
    print(json.dumps(spec, indent=2, sort_keys=True))


if __name__ == "__main__":
    app()
