"""Settings from environment variables (`SHOPCALL_*`) and an optional TOML file.

Precedence: explicit arguments > environment > TOML file (`SHOPCALL_CONFIG` or
`--config`) > defaults. Every default works on a single machine with no setup.
"""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, PydanticBaseSettingsSource, SettingsConfigDict

REGION_NAME = re.compile(r"[a-z0-9][a-z0-9-]{0,39}")


class RegionConfig(BaseModel):
    """Where one data region keeps its recordings (and, later, which media nodes serve it)."""

    model_config = ConfigDict(extra="forbid")
    storage: Literal["local", "s3"] = Field("local", description="'local' (a folder) or 's3' (a bucket)")
    local_dir: Path | None = Field(None, description="Folder for storage = local; default <data_dir>/recordings")
    s3_bucket: str | None = Field(None, description="The region's bucket (storage = s3)")
    s3_endpoint_url: str | None = Field(None, description="S3-compatible endpoint of the region")
    s3_region: str | None = Field(None, description="The bucket's S3 region")
    s3_access_key: str | None = None
    s3_secret_key: SecretStr | None = None
    s3_prefix: str = Field("", description="Key prefix inside the bucket")
    media_nodes: list[str] = Field(default_factory=list, description="Media nodes (Janus) of the region; "
                                   "informational until several media nodes are placed")

    @model_validator(mode="after")
    def _bucket(self) -> RegionConfig:
        if self.storage == "s3" and not self.s3_bucket:
            raise ValueError("a region with storage 's3' needs s3_bucket")
        return self


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SHOPCALL_", extra="forbid")

    data_dir: Path = Field(Path("./data"), description="Folder for the SQLite file, keys and Janus files")
    database_url: str | None = Field(None, description="SQLAlchemy URL; default sqlite:///<data_dir>/shopcall.db")
    host: str = Field("127.0.0.1", description="Address the HTTP/WebSocket server binds")
    port: int = Field(8080, ge=1, le=65535, description="HTTP/WebSocket port")
    public_url: str | None = Field(None, description="Base URL printed and used in links; default "
                                   "http://localhost:PORT (https:// with TLS)")
    tls_cert: Path | None = Field(None, description="PEM certificate (chain) for serving https and wss directly "
                                  "(docs/operations.md \"TLS\"); with tls_key")
    tls_key: Path | None = Field(None, description="PEM private key (unencrypted) for tls_cert")
    tls_self_signed: bool = Field(False, description="Serve https with a self-signed certificate made in "
                                  "<data_dir>/tls (a LAN proof of concept: browsers warn until it is accepted)")
    hsts_max_age_s: int = Field(31_536_000, ge=0, description="Strict-Transport-Security max-age sent on "
                                "responses that came over https (directly or via a trusted proxy); 0 = no header")

    janus_binary: str = Field("/usr/bin/janus", description="Janus executable")
    janus_http_port: int = Field(0, ge=0, le=65535, description="Janus HTTP API port (loopback); 0 = pick a free one")
    janus_ws_port: int = Field(0, ge=0, le=65535, description="Janus WebSocket API port (loopback); 0 = free")
    janus_admin_port: int = Field(0, ge=0, le=65535, description="Janus admin API port (loopback); 0 = free")
    rtp_port_min: int = Field(20000, ge=1024, le=65535, description="First UDP port for media")
    rtp_port_max: int = Field(20999, ge=1024, le=65535, description="Last UDP port for media")
    nack_queue_ms: int = Field(
        1000, ge=0, le=10_000,
        description="How long Janus keeps sent packets for retransmission (min_nack_queue). Janus's own "
        "default (200 ms) is shorter than its 200 ms pause between two retransmissions of one packet, so "
        "a lost retransmission could never be repaired; 0 keeps Janus's default",
    )
    ice_interfaces: str | None = Field(None, description="ICE interfaces, comma-separated (Janus ice_enforce_list)")
    public_ip: str | None = Field(None, description="Public address advertised in ICE (Janus nat_1_1_mapping)")
    stun_server: str | None = Field(None, description="host:port of a STUN server for Janus, if behind NAT")
    media_backend: str = Field("janus", description="'janus' (real) or 'none' (API only, media reported down)")

    # TURN (docs/operations.md "TURN"): relays media for shoppers whose network blocks UDP.
    turn_mode: Literal["auto", "managed", "external", "off"] = Field(
        "auto", description="'managed': ShopCall runs and supervises coturn; 'external': clients get credentials "
        "for turn_urls (your own TURN service sharing turn_secret); 'off': no TURN (empty ice_servers); 'auto' "
        "(default): managed when turn_binary exists and media_backend is janus, else off")
    turn_binary: str = Field("/usr/bin/turnserver", description="coturn executable (managed mode)")
    turn_port: int = Field(3478, ge=0, le=65535, description="TURN port, UDP and TCP (managed); 0 = pick a free one")
    turn_tls_port: int = Field(5349, ge=0, le=65535, description="TURN over TLS port (managed); 443 in production "
                               "gets through most firewalls; 0 = pick a free one")
    turn_tls_cert: Path | None = Field(None, description="PEM certificate (chain) for TURN over TLS; default: a "
                                       "self-signed development certificate in <data_dir>/turn")
    turn_tls_key: Path | None = Field(None, description="PEM private key for turn_tls_cert")
    turn_relay_port_min: int = Field(50000, ge=1024, le=65535, description="First UDP port coturn relays from "
                                     "(must not overlap rtp_port_min..rtp_port_max)")
    turn_relay_port_max: int = Field(51999, ge=1024, le=65535, description="Last UDP relay port")
    turn_public_host: str | None = Field(None, description="Host name or address put in the TURN URLs given to "
                                         "clients; default: the host the client used to reach the API")
    turn_urls: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="External mode: the TURN URLs handed to clients (turn:host:3478?"
        "transport=udp, turns:host:443?transport=tcp, ...); comma-separated in the environment")
    turn_secret: SecretStr | None = Field(None, description="Shared secret for TURN REST credentials (coturn "
                                          "static-auth-secret); default: generated in <data_dir>/turn.secret")
    turn_listen_ips: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="Addresses coturn listens on (managed); default: every address of the "
        "host at start. Comma-separated in the environment")
    turn_peer_ips: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="Extra addresses or networks (CIDR) the relay may send to, besides the "
        "media server's ICE addresses (ice_interfaces / public_ip); everything else is refused")

    token_ttl_s: int = Field(3600, ge=30, le=86400, description="Default lifetime of client tokens")
    recording_storage: str = Field("local", description="'local' (<data_dir>/recordings) or 's3'")
    s3_bucket: str | None = Field(None, description="S3 bucket for recordings (recording_storage = s3)")
    s3_endpoint_url: str | None = Field(None, description="S3-compatible endpoint (MinIO, Ceph...); default AWS")
    s3_region: str | None = Field(None, description="S3 region")
    s3_access_key: str | None = Field(None, description="S3 access key (default: boto3's credential chain)")
    s3_secret_key: SecretStr | None = Field(None, description="S3 secret key")
    regions: dict[str, RegionConfig] = Field(
        default_factory=dict, description="Data regions by name ([shopcall.regions.eu] in the TOML file, or JSON in "
        "SHOPCALL_REGIONS): an app in a region stores its recordings only there. The region 'local' (every app's "
        "default) uses recording_storage unless configured here")
    retention_interval_s: int = Field(3600, ge=10, description="How often the retention job runs")
    recording_encryption: bool = Field(True, description="Encrypt recordings at rest (AES-256-GCM, a data key "
                                       "per recording wrapped by the app's key; docs/security.md). The master key: "
                                       "SHOPCALL_MASTER_KEY (base64, 32 bytes) or <data_dir>/master.key")
    s3_sse: Literal["", "AES256", "aws:kms"] = Field("", description="S3 server-side encryption to ask for on "
                                                     "upload (in addition to ShopCall's own); '' = none")
    s3_sse_kms_key_id: str | None = Field(None, description="The KMS key for s3_sse = aws:kms (default: the "
                                          "bucket's AWS managed key)")
    log_level: str = Field("info", description="debug, info, warning, error")
    signal_queue_messages: int = Field(512, ge=16, description="Messages queued for one signalling client at most; "
                                       "a client that falls further behind is disconnected (close 4429)")
    signal_queue_bytes: int = Field(4 * 1024 * 1024, ge=300_000, description="Bytes queued for one signalling "
                                    "client at most (close 4429 beyond)")
    rate_limit_storage: str = Field("memory://", description="Where rate-limit counters live: memory:// (one "
                                    "process) or redis://host:6379 (shared by every process)")
    trusted_proxies: list[str] = Field(default_factory=list, description="Addresses or networks (CIDR) of reverse "
                                       "proxies whose X-Forwarded-For / X-Forwarded-Proto are believed; "
                                       "from anyone else these headers are ignored")
    max_body_bytes: int = Field(1024 * 1024, ge=1024, description="Largest request body accepted (413 beyond)")
    login_limits: list[str] = Field(["5/minute", "20/hour"], description="Failed console sign-ins allowed per "
                                    "account; each rule is a window (back-off: 429 with Retry-After)")
    login_address_limits: list[str] = Field(["20/minute", "100/hour"], description="Failed console sign-ins and "
                                            "app-secret checks allowed per client address")
    token_mint_limit: str = Field("300/minute", description="Tokens one app (or one client address for invite "
                                  "links) may mint")
    widget_session_limits: list[str] = Field(["30/minute", "300/hour"], description="Anonymous widget sessions "
                                             "(POST /v1/widget/session) one client address may start")
    widget_session_app_limit: str = Field("600/minute", description="Anonymous widget sessions one app may "
                                          "start, from all addresses together")
    widget_token_ttl_s: int = Field(1800, ge=60, le=86400, description="Lifetime of an anonymous widget token "
                                    "(the widget renews it, keeping the identity, while the page is open)")
    signal_send_timeout_s: float = Field(5.0, gt=0, le=60, description="Seconds one signalling frame may take to "
                                         "leave; a client that does not read for longer is disconnected (close 4429)")

    signal_heartbeat_s: float = Field(3.0, gt=0, le=60, description="Seconds between the server's pings to a "
                                      "client (and the SDK's own); welcome.heartbeat_s")
    signal_liveness_timeout_s: float = Field(8.0, gt=0, le=300, description="Seconds without any frame after which "
                                             "a socket counts as dead, on both sides (welcome.liveness_timeout_s; "
                                             "close 4408); keep it at least twice signal_heartbeat_s")
    resume_grace_s: float = Field(60.0, gt=0, le=3600, description="Seconds a dropped shopper keeps their place in "
                                  "the queue, and a dropped call participant their place in the call (shown as "
                                  "reconnecting); also the lifetime of resume tokens")

    outbound_allow: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="Networks (10.0.0.0/8), addresses or host names that webhooks and CRM "
        "connectors may reach although they are not public, e.g. an on-premises CRM; comma-separated in the "
        "environment. Operator-only: tenants cannot change it")

    @field_validator("outbound_allow", "turn_urls", "turn_listen_ips", "turn_peer_ips", mode="before")
    @classmethod
    def _split_allow(cls, v: Any) -> Any:
        return [p.strip() for p in v.split(",") if p.strip()] if isinstance(v, str) else v

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, _TomlSource(settings_cls))

    @field_validator("regions")
    @classmethod
    def _region_names(cls, v: dict[str, RegionConfig]) -> dict[str, RegionConfig]:
        for name in v:
            if not REGION_NAME.fullmatch(name):
                raise ValueError(f"region name {name!r}: use 1-40 lower-case letters, digits and '-'")
        return v

    @field_validator("rtp_port_max")
    @classmethod
    def _range_ok(cls, v: int, info: Any) -> int:
        lo = info.data.get("rtp_port_min", 20000)
        if v <= lo:
            raise ValueError(f"rtp_port_max ({v}) must be above rtp_port_min ({lo})")
        return v

    @model_validator(mode="after")
    def _turn_ok(self) -> Settings:
        lo, hi = self.turn_relay_port_min, self.turn_relay_port_max
        if hi <= lo:
            raise ValueError(f"turn_relay_port_max ({hi}) must be above turn_relay_port_min ({lo})")
        if lo <= self.rtp_port_max and self.rtp_port_min <= hi:
            raise ValueError(f"the TURN relay ports {lo}-{hi} overlap Janus's RTP ports "
                             f"{self.rtp_port_min}-{self.rtp_port_max}")
        if self.turn_port and self.turn_port == self.turn_tls_port:
            raise ValueError(f"turn_port and turn_tls_port are both {self.turn_port}")
        if (self.turn_tls_cert is None) != (self.turn_tls_key is None):
            raise ValueError("turn_tls_cert and turn_tls_key go together: set both or neither")
        if self.turn_mode == "external" and (not self.turn_urls or self.turn_secret is None):
            raise ValueError("turn_mode 'external' needs turn_urls and turn_secret (the external service's "
                             "shared secret)")
        return self

    @property
    def db_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 'shopcall.db').resolve()}"

    @property
    def base_url(self) -> str:
        scheme = "https" if self.tls_enabled else "http"
        return (self.public_url or f"{scheme}://localhost:{self.port}").rstrip("/")

    @property
    def tls_enabled(self) -> bool:
        """The server itself answers https (shopcall.tls checks the files before it starts)."""
        return self.tls_self_signed or self.tls_cert is not None


class _TomlSource(PydanticBaseSettingsSource):
    """Reads `[shopcall]` (or top-level keys) from the file named by SHOPCALL_CONFIG."""

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        path = os.environ.get("SHOPCALL_CONFIG")
        if not path:
            return {}
        p = Path(path)
        if not p.is_file():
            raise FileNotFoundError(f"SHOPCALL_CONFIG points to {p}, which does not exist")
        data = tomllib.loads(p.read_text())
        return dict(data.get("shopcall", data))


def load_settings(**overrides: Any) -> Settings:
    return Settings(**{k: v for k, v in overrides.items() if v is not None})
