"""Settings for a whole service under test: SQLite in the test's folder, ephemeral ports,
and, given a running simulator, its AMI port and durable records."""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path

from cti_fixtures import add_users, serving

from callcenter.config import Settings, SimulatorSettings
from callcenter.db import upgrade
from callcenter.service import Service
from callcenter.sim import PbxSimulator
from callcenter.telephony.settings import AmiSettings, PbxSettings


def service_settings(tmp_path: Path, pbx: PbxSimulator | None = None) -> Settings:
    base = Settings()
    link = PbxSettings(
        name="main",
        ami=AmiSettings(
            port=pbx.ami_port if pbx is not None else 1,
            secret=pbx.config.secret if pbx is not None else "s",
            backoff_initial_s=0.05,
            backoff_max_s=0.5,
        ),
        queue_log=str(pbx.queue_log_path) if pbx is not None else "",
        cdr_csv=str(pbx.cdr_path) if pbx is not None else "",
    )
    return dataclasses.replace(
        base,
        pbxes=[link],
        database=dataclasses.replace(base.database, url=f"sqlite:///{tmp_path / 'cc.db'}"),
        web=dataclasses.replace(base.web, port=0),
        fastagi=dataclasses.replace(base.fastagi, port=0),
        recordings=dataclasses.replace(base.recordings, root=str(tmp_path / "recordings")),
    )


def headless_settings(
    tmp_path: Path, *, calls_per_hour: float = 400, agents: int = 20, secret: str = "test-secret"
) -> Settings:
    """Settings for ``callcenter.demo.headless``: the simulator's records in ``tmp_path``,
    a link that notices a cut within a second and comes back quickly."""
    base = Settings()
    return dataclasses.replace(
        base,
        pbxes=[
            PbxSettings(
                name="main",
                ami=AmiSettings(
                    secret=secret,
                    ping_interval_s=1.0,
                    ping_timeout_s=1.0,
                    backoff_initial_s=0.05,
                    backoff_max_s=0.5,
                ),
            )
        ],
        hotlines={"4008001000": "hotline", "4008002000": "hotline", "4008003000": "hotline"},
        simulator=SimulatorSettings(
            enabled=True,
            peak_calls_per_hour=calls_per_hour,
            agents=agents,
            records_dir=str(tmp_path),
        ),
    )


@contextlib.asynccontextmanager
async def serving_service(settings: Settings) -> AsyncIterator[str]:
    """The whole service's web app (not started: no PBX link) on an ephemeral port, its
    database migrated and the test users added; yields its base URL."""
    upgrade(settings.database.url)
    service = Service(settings)
    add_users(service.cti.accounts)
    try:
        async with serving(service.build_web_app()) as url:
            yield url
    finally:
        service.engine.dispose()
