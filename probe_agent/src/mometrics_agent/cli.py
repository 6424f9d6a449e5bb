"""`mometrics-agent run`: flags override MOMETRICS_* environment variables."""

from __future__ import annotations

import argparse
import sys

from mometrics_agent.client import FatalStreamError, agent_id_from_token
from mometrics_agent.config import ConfigError, load_settings
from mometrics_agent.logs import configure_logging

FLAGS = {
    "gateway": "gateway_address",
    "region": "agent_region",
    "spool": "agent_spool_path",
    "concurrency": "agent_concurrency",
    "metrics_port": "agent_metrics_port",
    "workers": "agent_workers",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mometrics-agent", description="Mometrics probe agent")
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="connect to the gateway and run assigned checks")
    run.add_argument("--gateway", help="gateway host:port (MOMETRICS_GATEWAY_ADDRESS)")
    run.add_argument("--region", help="region this agent serves (MOMETRICS_AGENT_REGION)")
    run.add_argument("--spool", help="spool file path (MOMETRICS_AGENT_SPOOL_PATH)")
    run.add_argument("--concurrency", type=int, help="checks at once (MOMETRICS_AGENT_CONCURRENCY)")
    run.add_argument(
        "--workers",
        type=int,
        help="processes that run checks, 1 for the agent process alone (MOMETRICS_AGENT_WORKERS)",
    )
    run.add_argument(
        "--metrics-port", type=int, help="port of /healthz and /metrics, 0 disables them"
    )
    run.add_argument("--log-level", default=None, help="DEBUG, INFO, WARNING or ERROR")
    return parser


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    overrides = {
        field: getattr(args, flag)
        for flag, field in FLAGS.items()
        if getattr(args, flag) is not None
    }
    try:
        settings = load_settings(**overrides)
        agent_id_from_token(settings.agent_token.get_secret_value())
    except (ConfigError, FatalStreamError) as err:
        print(f"mometrics-agent: {err}", file=sys.stderr)
        raise SystemExit(2) from None
    configure_logging(args.log_level or settings.log_level)
    from mometrics_agent.app import run

    raise SystemExit(run(settings))
