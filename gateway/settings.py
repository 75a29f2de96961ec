"""Settings of a gateway, passed to create_app. Defaults suit a box in a shop.

Any field can be overridden from the environment as POSLINE_GATEWAY_<FIELD>
(for instance POSLINE_GATEWAY_CATALOG_INTERVAL_S=5); the systemd unit and the
tests use that, the CLI flags set the rest.
"""
import re
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from cloud_api.contract import MAX_BATCH_BYTES, MAX_BATCH_DOCUMENTS


class GatewaySettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="POSLINE_GATEWAY_")

    state_dir: Path
    host: str = "127.0.0.1"
    port: int = 8080                      # HTTPS: the till, the tablet API, /admin (443 on a box)
    http_port: int | None = None          # plain HTTP: /setup, /ca.crt, a redirect for the rest (80 on a box)
    # The box's LAN name, announced over mDNS as <hostname>.local and named in its certificate.
    # Provisioning may store another (posline.toml's hostname); the stored one wins.
    hostname: str = "posline"
    # Where the box lives on the LAN: "all" interfaces on a box, or a comma-separated list of
    # addresses (tests and `make run` use 127.0.0.1 so no packet leaves the machine).
    interfaces: str = "all"
    mdns: bool = True                     # announce <hostname>.local and the services over mDNS
    address_check_s: float = 60.0         # how often to look for changed LAN addresses (cert, mDNS)
    # Uplink: a batch at most this big; backoff doubles from base to cap, with jitter.
    uplink_batch_size: int = Field(default=MAX_BATCH_DOCUMENTS, ge=1, le=MAX_BATCH_DOCUMENTS)
    uplink_backoff_base_s: float = 1.0
    uplink_backoff_cap_s: float = 60.0
    uplink_idle_s: float = 30.0           # look for work even when nobody wakes us
    # Batches on their way to the cloud at once. Over a long link one batch at a time leaves it idle
    # for a round trip per batch; ingest is idempotent and the cloud's gap report counts the seqs it
    # holds, whatever order batches land in, so a small window is safe. 1 restores one at a time.
    uplink_window: int = Field(default=4, ge=1, le=16)
    # A batch's gzipped body at most this many bytes (and never more than the contract's
    # MAX_BATCH_BYTES, nor uplink_batch_size documents), so a request's time on the wire is bounded
    # by what travels, not by a document count.
    uplink_batch_bytes: int = Field(default=256 * 1024, ge=4 * 1024, le=MAX_BATCH_BYTES)
    # While the WAN is down, how often a cheap GET /healthz looks for its return; the backlog
    # leaves as soon as one answers, instead of after a backoff that may have grown to its cap.
    uplink_probe_s: float = Field(default=3.0, gt=0, le=5.0)
    cloud_timeout_s: float = 20.0
    parked_retry_s: float = 3600.0        # how often documents the cloud refused are offered again
    catalog_interval_s: float = 60.0
    heartbeat_interval_s: float = 60.0
    pairing_code_ttl_s: int = 600
    # Serve the till's JavaScript and CSS minified (gateway/minify.py): by esbuild when it is on PATH
    # (Debian's package), else only thinned, with a log line; False serves the files as written, for
    # reading them in a browser.
    minify: bool = True
    # What a LAN client may hold (cloud_api/service/connections.py), per socket (HTTPS and plain HTTP):
    # a shop's 30 tablets keep about 6 connections each, far below max_connections; systemd's
    # LimitNOFILE (posline-gateway.service) leaves room for both sockets' worth plus the box's own files.
    max_connections: int = 256
    header_timeout_s: float = 10.0        # the TLS handshake, then each request head
    body_timeout_s: float = 30.0          # a whole body once its head arrived (1 MiB over weak Wi-Fi)
    # Fiscal reporting to FBR / PRA (issue 9, gateway/fiscal_queue.py). fiscal_url None: the endpoint of the
    # catalog's mode and environment (gateway/fiscal_invoice.py); tests point it at the simulator.
    fiscal_url: str | None = None
    fiscal_timeout_s: float = Field(default=20.0, gt=0)
    # While the authority is unreachable the queue waits from base to cap, doubling, with jitter.
    fiscal_backoff_base_s: float = Field(default=2.0, gt=0)
    fiscal_backoff_cap_s: float = Field(default=60.0, gt=0)   # an outage of the authority alone ends within a minute
    # Timeouts in a row (the invoice may exist) before an invoice is flagged "ambiguous" for the owner
    # and set aside; until then the same payload (the same USIN) is sent again.
    fiscal_ambiguous_after: int = Field(default=3, ge=1)
    fiscal_idle_s: float = Field(default=30.0, gt=0)   # look for work even when nobody wakes the queue
    # Printing through the box (issue 11, gateway/print_queue.py). Urdu slips are drawn as raster with
    # these faces from print_font_dir (fonts-noto-core): <name>-Regular.ttf and <name>-Bold.ttf.
    # NotoNastaliqUrdu is the other Urdu choice; Naskh stays clearer at a thermal head's 8 dots/mm.
    print_font_dir: Path = Path("/usr/share/fonts/truetype/noto")
    print_urdu_font: str = "NotoNaskhArabic"
    print_latin_font: str = "NotoSans"
    print_connect_timeout_s: float = Field(default=3.0, gt=0)    # a LAN printer that is off
    # A printer's answer to DLE EOT 4 (its paper sensor); none in time: "reachable, status unknown".
    print_status_timeout_s: float = Field(default=0.5, gt=0)
    print_write_timeout_s: float = Field(default=20.0, gt=0)     # a whole job onto the wire
    # While a printer is off or out of paper its jobs wait, retried from base to cap (doubling, jitter).
    print_backoff_base_s: float = Field(default=1.0, gt=0)
    print_backoff_cap_s: float = Field(default=10.0, gt=0)
    # How often the queue looks for drawer_open documents unasked: a journal push wakes it at once
    # (till_api.journal_batch), so this is only a safety net.
    print_idle_s: float = Field(default=30.0, gt=0)
    # A receipt nobody has printed by then is for a customer long gone: the job fails ("expired").
    # A Z-report never expires.
    print_job_expiry_s: float = Field(default=900.0, gt=0)
    # A drawer is kicked only this soon after the cashier asked (the document's time, or the receipt's
    # request): a drawer that springs open minutes later, unattended, is how cash goes missing.
    # 20 s: the till follows the drawer job a few seconds only (web_till/printing.js followDrawer).
    print_drawer_fresh_s: float = Field(default=20.0, gt=0)
    print_jobs_keep_days: int = Field(default=7, ge=1)           # printed and failed jobs kept for the owner
    # The shop's time zone (IANA name), in which backup_at is read.
    timezone: str = "Asia/Karachi"
    # Every night at this local time (HH:MM) the box backs itself up (gateway/backup.py) to
    # <backup_dir>/box-<Mon..Sun>.tar.gz, overwriting the file of a week before: a week is kept.
    backup_at: str = "03:15"
    backup_dir: Path | None = None        # None: <state_dir>/backups

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as err:
            raise ValueError(f"unknown time zone {value!r} (an IANA name such as Asia/Karachi)") from err
        return value

    @field_validator("backup_at")
    @classmethod
    def _time_of_day(cls, value: str) -> str:
        if not re.fullmatch(r"([01][0-9]|2[0-3]):[0-5][0-9]", value):
            raise ValueError(f"backup_at must be a time of day as HH:MM, not {value!r}")
        return value
