"""AMI over TLS: the settings, the client's context, and the link against a TLS AMI server
(the scripted one, which records every byte of every action, and the PBX simulator)."""

from __future__ import annotations

import asyncio
import dataclasses
import random
import ssl
import zoneinfo
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
import structlog
from amiserver import AmiServer
from tls_fixtures import PBX_NAME, Pki, make_pki

from callcenter.config import load_settings
from callcenter.core.settings_error import ConfigError
from callcenter.sim.ami_server import server_tls_context
from callcenter.telephony.ami import AmiClient, AmiConnectionError, AmiTlsError
from callcenter.telephony.ami_tls import (
    AmiTlsSettingsError,
    client_tls_context,
    describe_tls,
    tls_failure_reason,
    tls_server_name,
)
from callcenter.telephony.settings import AmiSettings

SECRET = "tls-s3cr3t-pass"


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"))


async def until(condition: Callable[[], bool], timeout: float = 60.0) -> None:
    """Until ``condition()``; the deadline only bounds a hang (the machine may be busy)."""
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.005)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "callcenter.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def ami_yaml(**keys: object) -> str:
    lines = "".join(
        f"      {key}: {str(value).lower() if isinstance(value, bool) else value}\n"
        for key, value in keys.items()
    )
    return f"pbxes:\n  - name: main\n    ami:\n{lines}"


# --- settings ---------------------------------------------------------------------------------


def test_tls_is_off_by_default_and_checks_everything_when_on(tmp_path: Path, pki: Pki) -> None:
    plain = load_settings(write(tmp_path, ""), environ={}).pbxes[0].ami
    assert (plain.tls, plain.tls_verify, plain.tls_ca_file) == (False, True, "")
    on = load_settings(write(tmp_path, ami_yaml(tls=True, tls_ca_file=pki.ca_file)), environ={})
    assert on.pbxes[0].ami.tls and on.pbxes[0].ami.tls_ca_file == pki.ca_file


def test_client_certificate_without_its_key_names_the_key(tmp_path: Path, pki: Pki) -> None:
    path = write(tmp_path, ami_yaml(tls=True, tls_cert_file=pki.client_cert_file))
    with pytest.raises(ConfigError, match=r":\d+: pbxes\.0\.ami\.tls_key_file: must be set when"):
        load_settings(path, environ={})
    path = write(tmp_path, ami_yaml(tls=True, tls_key_file=pki.client_key_file))
    with pytest.raises(ConfigError, match=r"pbxes\.0\.ami\.tls_cert_file: must be set when"):
        load_settings(path, environ={})


def test_missing_tls_files_are_named_with_their_path(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        ami_yaml(
            tls=True,
            tls_ca_file=tmp_path / "no-ca.pem",
            tls_cert_file=tmp_path / "no-cert.pem",
            tls_key_file=tmp_path / "no-key.pem",
        ),
    )
    with pytest.raises(ConfigError) as err:
        load_settings(path, environ={})
    for name in ("tls_ca_file", "tls_cert_file", "tls_key_file"):
        assert f"pbxes.0.ami.{name}: no such file: {tmp_path / ('no-' + name[4:-5] + '.pem')}" in (
            str(err.value)
        )


def test_tls_files_without_tls_are_refused_as_plain_tcp(tmp_path: Path, pki: Pki) -> None:
    path = write(tmp_path, ami_yaml(tls_ca_file=pki.ca_file))
    with pytest.raises(ConfigError, match="tls_ca_file: is set but tls is false"):
        load_settings(path, environ={})


def test_tls_can_be_turned_on_from_the_environment(tmp_path: Path, pki: Pki) -> None:
    settings = load_settings(
        write(tmp_path, ""),
        environ={
            "CALLCENTER_PBXES__0__AMI__TLS": "true",
            "CALLCENTER_PBXES__0__AMI__TLS_CA_FILE": pki.ca_file,
        },
    )
    assert settings.pbxes[0].ami.tls
    assert "tls=True" in repr(settings.pbxes[0].ami)


def test_config_check_says_tls_on_or_off_and_refuses_a_file_that_is_no_pem(
    tmp_path: Path, pki: Pki, capsys: pytest.CaptureFixture[str]
) -> None:
    from callcenter.cli import main

    path = write(tmp_path, ami_yaml(port=5039, tls=True, tls_ca_file=pki.ca_file))
    assert main(["--config", str(path), "config", "check"]) == 0
    out = capsys.readouterr().out
    assert (
        f"main: AMI 127.0.0.1:5039: tls on, certificate checked against CA file {pki.ca_file}"
        in out
    )
    path = write(tmp_path, ami_yaml(port=5038))
    assert main(["--config", str(path), "config", "check"]) == 0
    assert "main: AMI 127.0.0.1:5038: tls off (plain TCP" in capsys.readouterr().out
    path = write(tmp_path, ami_yaml(tls=True, tls_ca_file=pki.client_key_file))
    assert main(["--config", str(path), "config", "check"]) == 2
    err = capsys.readouterr().err
    assert f"pbxes.0.ami.tls_ca_file {pki.client_key_file}: not a PEM CA bundle" in err


def test_annotated_reference_lists_every_ami_and_simulator_key() -> None:
    import yaml

    from callcenter.config import SimulatorSettings

    reference = yaml.safe_load(
        (Path(__file__).resolve().parent.parent / "config" / "callcenter.yaml").read_text()
    )
    assert set(reference["pbxes"][0]["ami"]) == {f.name for f in dataclasses.fields(AmiSettings)}
    assert set(reference["simulator"]) == {f.name for f in dataclasses.fields(SimulatorSettings)}


# --- the client's context -------------------------------------------------------------------


def test_no_context_without_tls() -> None:
    assert client_tls_context(AmiSettings()) is None
    assert tls_server_name(AmiSettings(tls_server_name="")) is None


def test_context_verifies_certificate_and_name_with_tls_1_2_at_least(pki: Pki) -> None:
    context = client_tls_context(AmiSettings(tls=True, tls_ca_file=pki.ca_file))
    assert context is not None
    assert context.protocol == ssl.PROTOCOL_TLS_CLIENT
    assert context.minimum_version == ssl.TLSVersion.TLSv1_2
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    assert [c["subject"] for c in context.get_ca_certs()] == [
        ((("commonName", "trusted test CA"),),)
    ]


def test_context_without_a_ca_file_trusts_the_system_store_only(pki: Pki) -> None:
    context = client_tls_context(AmiSettings(tls=True))
    assert context is not None
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    assert all(
        c["subject"] != ((("commonName", "trusted test CA"),),) for c in context.get_ca_certs()
    )


def test_context_without_verification_checks_nothing() -> None:
    context = client_tls_context(AmiSettings(tls=True, tls_verify=False))
    assert context is not None
    assert context.verify_mode == ssl.CERT_NONE and not context.check_hostname
    assert "NOT checked" in describe_tls(AmiSettings(tls=True, tls_verify=False))


def test_server_name_is_the_setting_else_the_host() -> None:
    assert tls_server_name(AmiSettings(host="10.0.0.5", tls=True)) == "10.0.0.5"
    assert tls_server_name(AmiSettings(host="10.0.0.5", tls=True, tls_server_name=PBX_NAME)) == (
        PBX_NAME
    )


def test_unusable_files_are_named(pki: Pki, tmp_path: Path) -> None:
    with pytest.raises(AmiTlsSettingsError, match=r"tls_ca_file .*: not a PEM CA bundle"):
        client_tls_context(AmiSettings(tls=True, tls_ca_file=pki.client_key_file))
    mismatched = AmiSettings(
        tls=True, tls_cert_file=pki.client_cert_file, tls_key_file=pki.server_key_file
    )
    with pytest.raises(AmiTlsSettingsError, match=r"tls_cert_file .* / tls_key_file .*: not a PEM"):
        client_tls_context(mismatched)


def test_plain_port_is_pointed_out_when_tls_is_on() -> None:
    assert "tlsbindaddr listens on 5039" in describe_tls(AmiSettings(tls=True, port=5038))
    assert "5039 by default" not in describe_tls(AmiSettings(tls=True, port=5039))


def test_failure_reasons_name_the_certificate_problem() -> None:
    error = ssl.SSLCertVerificationError(1, "certificate verify failed")
    error.verify_message = "self-signed certificate"
    assert tls_failure_reason(error) == (
        "the PBX's certificate was not accepted: self-signed certificate"
    )
    wrong_port = ssl.SSLError(1, "[SSL: WRONG_VERSION_NUMBER] wrong version number")
    wrong_port.reason = "WRONG_VERSION_NUMBER"
    assert "is it manager.conf's tlsbindaddr" in tls_failure_reason(wrong_port)


# --- the link against the scripted TLS server --------------------------------------------------


@pytest.fixture
async def tls_server(pki: Pki) -> AsyncIterator[AmiServer]:
    async with AmiServer(
        secret=SECRET, tls=server_tls_context(pki.server_cert_file, pki.server_key_file)
    ) as server:
        yield server


ClientFactory = Callable[..., AmiClient]


@pytest.fixture
async def make_client() -> AsyncIterator[ClientFactory]:
    made: list[AmiClient] = []

    def make(port: int, settings: AmiSettings, **options: Any) -> AmiClient:
        client = AmiClient(
            settings.host,
            port,
            "callcenter",
            SECRET,
            on_event=lambda _message: None,
            action_timeout=10.0,
            ping_interval=30.0,
            backoff_initial=0.01,
            backoff_max=0.04,
            rng=random.Random(3),
            tls=client_tls_context(settings),
            server_hostname=tls_server_name(settings),
            **options,
        )
        made.append(client)
        return client

    yield make
    for client in made:
        await client.close()


async def test_link_logs_in_over_tls_with_the_configured_ca(
    tls_server: AmiServer, make_client: ClientFactory, pki: Pki
) -> None:
    client = make_client(tls_server.port, AmiSettings(tls=True, tls_ca_file=pki.ca_file))
    await client.start()
    reply = await client.send_action({"Action": "Ping"})
    assert reply["Ping"] == "Pong"
    assert client.tls and tls_server.logins == 1
    assert "tls=True" in repr(client)


async def test_name_given_for_an_address_is_the_one_checked(
    tls_server: AmiServer, make_client: ClientFactory, pki: Pki
) -> None:
    settings = AmiSettings(
        host="127.0.0.1", tls=True, tls_ca_file=pki.ca_file, tls_server_name=PBX_NAME
    )
    client = make_client(tls_server.port, settings)
    await client.start()
    assert client.connected


@pytest.mark.parametrize(
    ("case", "reason"),
    [
        ("no CA configured", "unable to get local issuer certificate"),
        ("another CA", "unable to get local issuer certificate"),
        ("another name", "Hostname mismatch, certificate is not valid for 'ami.elsewhere.test'"),
    ],
)
async def test_a_certificate_that_fails_the_checks_never_gets_the_secret(
    tls_server: AmiServer, make_client: ClientFactory, pki: Pki, case: str, reason: str
) -> None:
    settings = {
        "no CA configured": AmiSettings(tls=True),
        "another CA": AmiSettings(tls=True, tls_ca_file=pki.other_ca_file),
        "another name": AmiSettings(
            tls=True, tls_ca_file=pki.ca_file, tls_server_name="ami.elsewhere.test"
        ),
    }[case]
    client = make_client(tls_server.port, settings)
    with structlog.testing.capture_logs() as logs, pytest.raises(AmiTlsError) as err:
        await client.start()
    assert reason in str(err.value) and "not logged in" in str(err.value)
    refused = [e for e in logs if e["event"] == "ami_tls_refused"]
    assert refused and refused[0]["log_level"] == "error"
    assert reason in refused[0]["reason"]
    assert tls_server.received == [] and tls_server.logins == 0
    assert SECRET not in repr(logs)


async def test_self_signed_certificate_is_refused_unless_its_own_file_is_the_ca(
    make_client: ClientFactory, pki: Pki
) -> None:
    lone = server_tls_context(pki.self_signed_cert_file, pki.self_signed_key_file)
    async with AmiServer(secret=SECRET, tls=lone) as server:
        with pytest.raises(AmiTlsError, match="self-signed certificate"):
            await make_client(server.port, AmiSettings(tls=True)).start()
        trusted = AmiSettings(tls=True, tls_ca_file=pki.self_signed_cert_file)
        await make_client(server.port, trusted).start()
        assert server.logins == 1


async def test_unverified_tls_connects_to_any_certificate(
    tls_server: AmiServer, make_client: ClientFactory
) -> None:
    client = make_client(
        tls_server.port, AmiSettings(tls=True, tls_verify=False, tls_server_name="anything")
    )
    await client.start()
    assert client.connected and tls_server.logins == 1


async def test_a_port_without_tls_is_refused_and_the_secret_stays_home(
    make_client: ClientFactory, pki: Pki
) -> None:
    async with AmiServer(secret=SECRET) as plain:
        client = make_client(plain.port, AmiSettings(tls=True, tls_ca_file=pki.ca_file))
        with pytest.raises(AmiTlsError, match="TLS handshake failed"):
            await client.start()
        assert plain.received == [] and plain.logins == 0


async def test_a_certificate_refused_after_a_drop_is_logged_and_retried_never_in_plain(
    pki: Pki, make_client: ClientFactory
) -> None:
    context = server_tls_context(pki.server_cert_file, pki.server_key_file)
    async with AmiServer(secret=SECRET, tls=context) as server:
        delays: list[float] = []

        async def sleep(delay: float) -> None:
            delays.append(delay)
            await asyncio.sleep(0.001)

        client = make_client(
            server.port, AmiSettings(tls=True, tls_ca_file=pki.ca_file), sleep=sleep
        )
        await client.start()
        # The PBX now shows a certificate from a CA the service does not trust.
        context.load_cert_chain(pki.self_signed_cert_file, pki.self_signed_key_file)
        with structlog.testing.capture_logs() as logs:
            server.drop_all()
            await until(lambda: len([e for e in logs if e["event"] == "ami_tls_refused"]) >= 3)
            refused = [e for e in logs if e["event"] == "ami_tls_refused"]
            assert all("self-signed certificate" in e["reason"] for e in refused)
            assert server.logins == 1 and server.counts["login"] == 1
            context.load_cert_chain(pki.server_cert_file, pki.server_key_file)
            await server.wait_for_logins(2)
        assert len(delays) >= 3  # each refusal waited its backoff
        assert SECRET not in repr(logs)


async def test_client_certificate_is_presented_when_the_pbx_asks_for_one(
    pki: Pki, make_client: ClientFactory
) -> None:
    context = server_tls_context(pki.server_cert_file, pki.server_key_file, pki.ca_file)
    async with AmiServer(secret=SECRET, tls=context) as server:
        settings = AmiSettings(
            tls=True,
            tls_ca_file=pki.ca_file,
            tls_cert_file=pki.client_cert_file,
            tls_key_file=pki.client_key_file,
        )
        await make_client(server.port, settings).start()
        assert server.logins == 1
        peer = server.clients[0].writer.get_extra_info("peercert")
        assert dict(x[0] for x in peer["subject"])["commonName"] == "service"


async def test_a_pbx_asking_for_a_client_certificate_gets_no_login_without_one(
    pki: Pki, make_client: ClientFactory
) -> None:
    context = server_tls_context(pki.server_cert_file, pki.server_key_file, pki.ca_file)
    async with AmiServer(secret=SECRET, tls=context) as server:
        client = make_client(server.port, AmiSettings(tls=True, tls_ca_file=pki.ca_file))
        # TLS 1.2 refuses in the handshake; TLS 1.3 right after it: either way no login.
        with pytest.raises(AmiConnectionError):
            await client.start()
        assert server.logins == 0 and server.received == []


# --- the service against the simulator serving TLS ------------------------------------------


def tls_service_settings(tmp_path: Path, pki: Pki, **ami: Any) -> Any:
    from service_fixtures import headless_settings

    settings = headless_settings(tmp_path, calls_per_hour=400, agents=12, secret=SECRET)
    pbx = settings.pbxes[0]
    return dataclasses.replace(
        settings,
        pbxes=[dataclasses.replace(pbx, ami=dataclasses.replace(pbx.ami, tls=True, **ami))],
        simulator=dataclasses.replace(
            settings.simulator,
            tls_cert_file=pki.server_cert_file,
            tls_key_file=pki.server_key_file,
        ),
    )


async def test_service_tracks_calls_over_tls_from_the_simulator(tmp_path: Path, pki: Pki) -> None:
    from callcenter.demo import DemoOptions, headless

    settings = tls_service_settings(tmp_path, pki, tls_ca_file=pki.ca_file)
    with structlog.testing.capture_logs() as logs:
        summary = await headless(
            settings, DemoOptions(headless=True, calls=12, seed=3, speed=500, plain=True)
        )
    assert summary["generated"] == 12
    assert summary["recorded"] == 12
    assert summary["missing"] == 0 and summary["mismatches"] == 0
    starting = [e for e in logs if e["event"] == "ami link starting"]
    assert starting and starting[0]["tls"] is True
    assert "tls on, certificate checked" in starting[0]["meaning"]
    ups = [e for e in logs if e["event"] == "ami_link_up"]
    assert ups and all(e["tls"] for e in ups)
    assert SECRET not in repr(logs)


async def test_simulator_over_tls_refuses_a_service_that_cannot_verify_it(
    tmp_path: Path, pki: Pki
) -> None:
    from callcenter.telephony.link import PbxLink
    from callcenter.testing import running_simulator

    async with running_simulator(
        tmp_path / "pbx",
        secret=SECRET,
        tls_cert_file=pki.server_cert_file,
        tls_key_file=pki.server_key_file,
    ) as pbx:
        settings = tls_service_settings(tmp_path, pki, tls_ca_file=pki.other_ca_file).pbxes[0]
        settings = dataclasses.replace(
            settings, ami=dataclasses.replace(settings.ami, port=pbx.ami_port)
        )
        link = PbxLink(settings, zone=zoneinfo.ZoneInfo("Asia/Shanghai"), sink=lambda _event: None)
        with structlog.testing.capture_logs() as logs, pytest.raises(AmiTlsError):
            await link.start()
        await link.close()
        assert not link.connected
        assert pbx._server is not None and not pbx._server.sessions
        assert any(
            e["event"] == "ami_tls_refused"
            and "unable to get local issuer certificate" in e["reason"]
            for e in logs
        )


async def test_unverified_tls_links_the_service_to_the_simulator_with_a_warning(
    tmp_path: Path, pki: Pki
) -> None:
    from callcenter.telephony.link import PbxLink
    from callcenter.testing import running_simulator

    async with running_simulator(
        tmp_path / "pbx",
        secret=SECRET,
        tls_cert_file=pki.self_signed_cert_file,
        tls_key_file=pki.self_signed_key_file,
    ) as pbx:
        settings = tls_service_settings(tmp_path, pki, tls_verify=False).pbxes[0]
        settings = dataclasses.replace(
            settings, ami=dataclasses.replace(settings.ami, port=pbx.ami_port)
        )
        link = PbxLink(settings, zone=zoneinfo.ZoneInfo("Asia/Shanghai"), sink=lambda _e: None)
        with structlog.testing.capture_logs() as logs:
            await link.start()
        try:
            assert link.connected
        finally:
            await link.close()
    starting = [e for e in logs if e["event"] == "ami link starting"]
    assert starting[0]["log_level"] == "warning"
    assert "NOT checked (tls_verify: false, for testing only)" in starting[0]["meaning"]
