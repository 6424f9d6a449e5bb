"""Settings of the probe agent, from flags or MOMETRICS_* environment variables."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from mometrics_agent.runtime import has_uvloop


class ConfigError(Exception):
    """Invalid configuration; the message names the variable and the fix."""


class AgentSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MOMETRICS_", extra="ignore")

    # host:port of the control plane's gRPC gateway.
    gateway_address: str = "127.0.0.1:50051"
    # Token issued when the agent was registered; it carries the agent id.
    agent_token: SecretStr = SecretStr("")
    agent_region: str = ""
    # Use TLS to the gateway. Plaintext is allowed only to loopback.
    agent_tls: bool = False
    # PEM files: a CA bundle to trust, and a client certificate and key.
    agent_tls_ca: str = ""
    agent_tls_cert: str = ""
    agent_tls_key: str = ""
    # SQLite file that keeps results until the gateway acknowledges them.
    agent_spool_path: Path = Path("mometrics-agent-spool.sqlite3")
    # Results kept at most; past it the oldest are evicted and counted.
    agent_spool_max_results: int = Field(default=1_000_000, ge=1000)
    # Checks running at once, over all worker processes.
    agent_concurrency: int = Field(default=256, ge=1, le=10_000)
    # Processes that run checks. 1 runs them in the agent process itself. A
    # higher number starts that many worker processes, which share out the
    # monitors, and the agent process keeps the stream, spool and /metrics.
    agent_workers: int = Field(default=1, ge=1, le=64)
    # Event loop implementation: uvloop, asyncio, or auto (uvloop when installed).
    agent_event_loop: Literal["auto", "uvloop", "asyncio"] = "auto"
    # Local address of /healthz and /metrics; port 0 disables them.
    agent_metrics_host: str = "127.0.0.1"
    agent_metrics_port: int = Field(default=9464, ge=0, le=65_535)
    # Allow targets that resolve to loopback, private or link-local addresses.
    allow_private_targets: bool = False
    # Seconds that SIGTERM waits for running checks before the agent exits.
    agent_shutdown_grace_s: float = Field(default=10.0, ge=0, le=300)
    log_level: str = "INFO"

    @field_validator("gateway_address")
    @classmethod
    def _check_address(cls, value: str) -> str:
        host, sep, port = value.rpartition(":")
        if not sep or not host or not port.isdigit() or not 0 < int(port) < 65_536:
            raise ValueError("must be host:port, such as 127.0.0.1:50051")
        return value

    @field_validator("agent_event_loop")
    @classmethod
    def _check_event_loop(cls, value: str) -> str:
        if value == "uvloop" and not has_uvloop():
            raise ValueError("is uvloop but uvloop is not installed: install it or use auto")
        return value

    @field_validator("agent_region")
    @classmethod
    def _check_region(cls, value: str) -> str:
        if not value:
            raise ValueError("is missing: set the region this agent serves")
        return value

    @model_validator(mode="after")
    def _check_transport(self) -> AgentSettings:
        if not self.agent_token.get_secret_value():
            raise ValueError(
                "MOMETRICS_AGENT_TOKEN is missing: use the token printed when "
                "the agent was registered"
            )
        if not self.agent_tls and not is_loopback_host(self.gateway_host):
            raise ValueError(
                "MOMETRICS_AGENT_TLS is off but the gateway is not on loopback; "
                "plaintext is allowed only to 127.0.0.0/8, ::1 or localhost"
            )
        if bool(self.agent_tls_cert) != bool(self.agent_tls_key):
            raise ValueError(
                "MOMETRICS_AGENT_TLS_CERT and MOMETRICS_AGENT_TLS_KEY go together: "
                "set both for a client certificate, or neither"
            )
        for name, path in (
            ("MOMETRICS_AGENT_TLS_CA", self.agent_tls_ca),
            ("MOMETRICS_AGENT_TLS_CERT", self.agent_tls_cert),
            ("MOMETRICS_AGENT_TLS_KEY", self.agent_tls_key),
        ):
            if path and not Path(path).is_file():
                raise ValueError(f"{name}: file {path!r} not found")
        return self

    @property
    def gateway_host(self) -> str:
        return self.gateway_address.rpartition(":")[0].strip("[]")


def is_loopback_host(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def load_settings(**overrides: object) -> AgentSettings:
    """Read and validate the settings, raising ConfigError with a clear line."""
    try:
        return AgentSettings(**overrides)  # type: ignore[arg-type]
    except ValidationError as err:
        problems = []
        for error in err.errors():
            field = ".".join(str(part) for part in error["loc"])
            message = str(error["msg"]).removeprefix("Value error, ")
            name = f"MOMETRICS_{field.upper()}"
            problems.append(f"{name}: {message}" if field else message)
        raise ConfigError("invalid configuration: " + "; ".join(problems)) from None
