"""`mometrics-control`: one entry point for every control plane process."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from pathlib import Path

from mometrics_control.config import ConfigError, Settings, load_settings
from mometrics_control.logs import configure_logging


def _settings() -> Settings:
    try:
        return load_settings()
    except ConfigError as err:
        print(f"mometrics-control: {err}", file=sys.stderr)
        raise SystemExit(2) from None


def alembic_config(settings: Settings) -> object:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", "mometrics_control:migrations")
    config.set_main_option("sqlalchemy.url", settings.database_url.replace("%", "%%"))
    return config


def cmd_migrate(args: argparse.Namespace) -> None:
    from alembic import command

    settings = _settings()
    command.upgrade(alembic_config(settings), args.revision)  # type: ignore[arg-type]


def cmd_api(args: argparse.Namespace) -> None:
    import uvicorn

    from mometrics_control.api.app import create_app

    settings = _settings()
    uvicorn.run(
        create_app(settings),
        host=settings.api_host,
        port=settings.api_port,
        log_config=None,
        proxy_headers=True,
    )


def cmd_gateway(args: argparse.Namespace) -> None:
    from mometrics_control.gateway.main import run

    run(_settings())


def cmd_scheduler(args: argparse.Namespace) -> None:
    from mometrics_control.jobs.scheduler import run

    run(_settings())


def cmd_worker(args: argparse.Namespace) -> None:
    _settings()
    dramatiq = Path(sys.executable).with_name("dramatiq")
    os.execv(
        dramatiq,
        [
            str(dramatiq),
            "mometrics_control.jobs.actors",
            "--processes",
            str(args.processes),
            "--threads",
            str(args.threads),
        ],
    )


async def _create_user(email: str, password: str, organization: str | None) -> str:
    from mometrics_control.auth import service
    from mometrics_control.db import create_engine, create_sessionmaker

    settings = _settings()
    engine = create_engine(settings.database_url, pool_size=1)
    try:
        async with create_sessionmaker(engine)() as session:
            user = await service.register(session, email, password, organization)
            return str(user.id)
    finally:
        await engine.dispose()


def cmd_create_user(args: argparse.Namespace) -> None:
    password = args.password or os.environ.get("MOMETRICS_NEW_USER_PASSWORD", "")
    if len(password) < 8:
        raise SystemExit("mometrics-control: --password must be at least 8 characters")
    print(asyncio.run(_create_user(args.email, password, args.organization)))


async def _create_agent(name: str, region: str) -> dict[str, str]:
    from mometrics_control.agents.service import create_agent
    from mometrics_control.db import create_engine, create_sessionmaker

    settings = _settings()
    engine = create_engine(settings.database_url, pool_size=1)
    try:
        async with create_sessionmaker(engine)() as session:
            agent, token = await create_agent(session, name, region)
            return {"id": str(agent.id), "region": region, "token": token}
    finally:
        await engine.dispose()


def cmd_create_agent(args: argparse.Namespace) -> None:
    print(json.dumps(asyncio.run(_create_agent(args.name or f"agent-{args.region}", args.region))))


def cmd_dev(args: argparse.Namespace) -> None:
    from mometrics_control.devstack.dev import run_dev

    raise SystemExit(run_dev(Path(args.data_dir), args.dashboard_dir))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mometrics-control",
        description="Mometrics control plane. Settings come from MOMETRICS_* variables.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("api", help="serve the REST API (and the built dashboard)").set_defaults(
        func=cmd_api
    )
    commands.add_parser("gateway", help="serve the gRPC agent gateway").set_defaults(
        func=cmd_gateway
    )
    worker = commands.add_parser("worker", help="run Dramatiq workers for the jobs")
    worker.add_argument("--processes", type=int, default=1, help="worker processes")
    worker.add_argument("--threads", type=int, default=4, help="threads per process")
    worker.set_defaults(func=cmd_worker)
    commands.add_parser("scheduler", help="enqueue periodic jobs").set_defaults(func=cmd_scheduler)
    migrate = commands.add_parser("migrate", help="apply database migrations")
    migrate.add_argument("revision", nargs="?", default="head", help="target (default head)")
    migrate.set_defaults(func=cmd_migrate)
    dev = commands.add_parser("dev", help="run the whole stack locally with three agents")
    dev.add_argument("--data-dir", default=".data", help="folder for embedded servers and spools")
    dev.add_argument("--dashboard-dir", default="dashboard/dist", help="built dashboard folder")
    dev.set_defaults(func=cmd_dev)
    user = commands.add_parser("create-user", help="create a user and its organisation")
    user.add_argument("--email", required=True)
    user.add_argument(
        "--password", help="at least 8 characters (or set MOMETRICS_NEW_USER_PASSWORD)"
    )
    user.add_argument("--organization", help="organisation name")
    user.set_defaults(func=cmd_create_user)
    agent = commands.add_parser("create-agent", help="register an agent; prints its token once")
    agent.add_argument("--region", required=True, help="region the agent serves, e.g. eu-west")
    agent.add_argument("--name", help="display name")
    agent.set_defaults(func=cmd_create_agent)
    return parser


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    settings_level = os.environ.get("MOMETRICS_LOG_LEVEL", "INFO")
    configure_logging(settings_level, process=args.command)
    args.func(args)
