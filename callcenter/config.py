"""Settings: ``config/callcenter.yaml`` plus ``CALLCENTER_*`` environment overrides.

Everything is validated at start. A wrong value raises ``ConfigError`` naming the file,
line, key and problem, e.g. ``config/callcenter.yaml:12: targets.answer_rate: must be
between 0 and 1, got 1.5``.

Environment overrides use ``__`` between levels and indexes for lists:
``CALLCENTER_DATABASE__URL``, ``CALLCENTER_TARGETS__ANSWER_RATE=0.85``,
``CALLCENTER_PBXES__0__AMI__SECRET``. A text setting takes the value exactly as written,
so a secret such as ``0123``, ``yes`` or ``12:30`` stays what it says; other settings read
it as YAML, so ``0.85`` is a number, ``true`` a boolean and ``[a, b]`` a list.
``CALLCENTER_CONFIG`` names the settings file.
"""

from __future__ import annotations

import dataclasses
import math
import os
import types
import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin, get_type_hints

import yaml

from callcenter.core.redact import redact_url
from callcenter.core.settings_checks import at_least_one, not_negative, positive
from callcenter.core.settings_error import ConfigError
from callcenter.core.yamlfile import PlacedSafeLoader, YamlSyntaxError, parse_yaml_text
from callcenter.cti.settings import CtiSettings, DiallingSettings
from callcenter.ivr.settings import IvrSettings
from callcenter.log_settings import LoggingSettings
from callcenter.metrics.settings import MetricsSettings, Targets
from callcenter.recordings.settings import RecordingsSettings
from callcenter.routing.settings import RoutingSettings
from callcenter.telephony.settings import FastAgiSettings, PbxSettings, check_zone
from callcenter.web.settings import WebSettings

ENV_PREFIX = "CALLCENTER_"
DEFAULT_PATH = Path("config/callcenter.yaml")


@dataclass(frozen=True)
class SimulatorSettings:
    """The built-in PBX simulator, started next to the service for ``make demo``."""

    enabled: bool = False
    seed: int = 1
    speed: float = 1.0
    calls: int = 0  # 0: keep generating
    peak_calls_per_hour: float = 400.0
    lines: int = 90
    agents: int = 12
    records_dir: str = "var/sim"
    # The simulated PBX serves AMI over TLS with this certificate and key (PEM; "": plain
    # TCP), so pbxes[0].ami.tls can be tried without an Asterisk.
    tls_cert_file: str = ""
    tls_key_file: str = ""

    def check(self) -> dict[str, str]:
        problems = {}
        if self.tls_key_file and not self.tls_cert_file:
            problems["tls_cert_file"] = "must be set when tls_key_file is"
        for name in ("tls_cert_file", "tls_key_file"):
            path = getattr(self, name)
            if path and not os.path.isfile(path):
                problems[name] = f"no such file: {path}"
        problems.update(positive(self, "speed"))
        problems.update(not_negative(self, "calls"))
        problems.update(positive(self, "peak_calls_per_hour"))
        problems.update(at_least_one(self, "lines", "agents"))
        return problems


@dataclass(frozen=True)
class DatabaseSettings:
    url: str = "sqlite:///var/callcenter.db"
    max_batch: int = 500
    flush_interval_s: float = 0.25
    buffer_limit: int = 50_000

    def __repr__(self) -> str:
        return f"DatabaseSettings(url={redact_url(self.url)!r})"

    def check(self) -> dict[str, str]:
        problems = {}
        if not self.url.startswith(("sqlite://", "postgresql://", "postgresql+psycopg://")):
            problems["url"] = (
                f"must start with sqlite:// or postgresql:// (got {redact_url(self.url)!r})"
            )
        problems.update(at_least_one(self, "max_batch"))
        if self.buffer_limit < self.max_batch:
            problems["buffer_limit"] = "must not be smaller than max_batch"
        return problems


@dataclass(frozen=True)
class RedisSettings:
    url: str = ""  # empty: the in-process event bus (one instance)
    instance: str = ""  # this instance's name in the consumer groups; empty: the host name
    prefix: str = "callcenter"  # key prefix, so several deployments can share one Redis
    lease_s: float = 10.0  # how long a PBX lease outlives a silent holder
    stream_maxlen: int = 1_000_000  # entries kept per PBX stream (approximate trim)
    outbox_limit: int = 100_000  # envelopes kept while Redis is away

    def __repr__(self) -> str:
        return f"RedisSettings(url={redact_url(self.url)!r}, instance={self.instance!r})"

    def check(self) -> dict[str, str]:
        problems = {}
        if self.url and not self.url.startswith(("redis://", "rediss://", "unix://")):
            problems["url"] = (
                f"must start with redis://, rediss:// or unix://, got {redact_url(self.url)!r}"
            )
        if self.lease_s < 1:
            problems["lease_s"] = f"must be at least 1 second, got {self.lease_s}"
        if self.stream_maxlen < 1000:
            problems["stream_maxlen"] = f"must be at least 1000, got {self.stream_maxlen}"
        problems.update(at_least_one(self, "outbox_limit"))
        if ":" in self.instance or " " in self.instance:
            problems["instance"] = f"must not contain ':' or spaces, got {self.instance!r}"
        return problems


@dataclass(frozen=True)
class Settings:
    timezone: str = "Asia/Shanghai"
    targets: Targets = field(default_factory=Targets)
    pbxes: list[PbxSettings] = field(default_factory=lambda: [PbxSettings()])
    hotlines: dict[str, str] = field(default_factory=dict)  # dialled number -> IVR flow
    simulator: SimulatorSettings = field(default_factory=SimulatorSettings)
    database: DatabaseSettings = field(default_factory=DatabaseSettings)
    redis: RedisSettings = field(default_factory=RedisSettings)
    web: WebSettings = field(default_factory=WebSettings)
    fastagi: FastAgiSettings = field(default_factory=FastAgiSettings)
    logging: LoggingSettings = field(default_factory=LoggingSettings)
    recordings_dir: str = "recordings"
    ivr_dir: str = "ivr_flows"
    recordings: RecordingsSettings = field(default_factory=RecordingsSettings)
    cti: CtiSettings = field(default_factory=CtiSettings)
    dialling: DiallingSettings = field(default_factory=DiallingSettings)
    routing: RoutingSettings = field(default_factory=RoutingSettings)
    ivr: IvrSettings = field(default_factory=IvrSettings)
    metrics: MetricsSettings = field(default_factory=MetricsSettings)

    def check(self) -> dict[str, str]:
        problems = check_zone("timezone", self.timezone)
        names = [p.name for p in self.pbxes]
        if not names:
            problems["pbxes"] = "must list at least one PBX"
        elif len(set(names)) != len(names):
            problems["pbxes"] = f"PBX names must be unique, got {names}"
        for number in self.hotlines:
            if not number.isdigit():
                problems[f"hotlines.{number}"] = "a hotline number must be digits only"
        return problems

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.timezone)


def load_settings(
    path: str | Path | None = None, environ: Mapping[str, str] | None = None
) -> Settings:
    """Read the file (if any), apply ``CALLCENTER_*`` overrides, build and validate."""
    env = os.environ if environ is None else environ
    chosen = Path(path) if path is not None else Path(env.get("CALLCENTER_CONFIG", DEFAULT_PATH))
    raw: dict[str, Any] = {}
    lines: dict[str, int] = {}
    if chosen.exists():
        raw, lines = _read_yaml(chosen)
    elif path is not None or "CALLCENTER_CONFIG" in env:
        raise ConfigError(f"{chosen}: settings file not found")
    origin = str(chosen)
    for key, value in sorted(env.items()):
        if not key.startswith(ENV_PREFIX) or key == "CALLCENTER_CONFIG":
            continue
        if key in _NON_SETTING_VARIABLES or key.startswith("CALLCENTER_TEST_"):
            continue
        dotted = key[len(ENV_PREFIX) :].lower().replace("__", ".")
        _set_path(raw, dotted.split("."), _EnvValue(key, value))
        lines[dotted] = -1
    settings: Settings = _build(Settings, raw, "", origin, lines)
    return settings


# An environment override may add list items (CALLCENTER_PBXES__1__NAME), a few at most.
_MAX_NEW_ITEMS = 100

# Variables of the test suite and CI, not settings.
_NON_SETTING_VARIABLES = frozenset({"CALLCENTER_REQUIRE_SERVICES"})


_Loader = PlacedSafeLoader


def _node_and_data(loader: _Loader) -> tuple[yaml.Node | None, Any]:
    node = loader.get_single_node()
    return node, loader.construct_document(node) if node is not None else None


def _read_yaml(path: Path) -> tuple[dict[str, Any], dict[str, int]]:
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise ConfigError(f"{path}:{line}: not UTF-8 text (byte {exc.start})") from None
    try:
        node, data = parse_yaml_text(text, _Loader, _node_and_data)
    except YamlSyntaxError as exc:
        where = f"{path}:{exc.line}:{exc.column}" if exc.marked else f"{path}:{exc.line}"
        raise ConfigError(f"{where}: invalid YAML: {exc.problem}") from None
    if data is None:
        return {}, {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}:1: the settings file must be a mapping of keys to values")
    lines: dict[str, int] = {}
    _collect_lines(node, "", lines, set())
    return data, lines


def _collect_lines(
    node: yaml.Node | None, prefix: str, lines: dict[str, int], seen: set[int]
) -> None:
    # Each node once: an alias may point back at its own anchor (a: &x {b: *x}), and
    # aliases of aliases would otherwise be walked exponentially often.
    if node is None or id(node) in seen:
        return
    seen.add(id(node))
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            dotted = f"{prefix}{key_node.value}"
            lines[dotted] = key_node.start_mark.line + 1
            _collect_lines(value_node, dotted + ".", lines, seen)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            dotted = f"{prefix}{index}"
            lines[dotted] = item.start_mark.line + 1
            _collect_lines(item, dotted + ".", lines, seen)


@dataclass(frozen=True)
class _EnvValue:
    """An environment override as written. It is read once the setting's type is known:
    text verbatim (YAML would turn a secret ``0123`` into 83 and ``yes`` into true), any
    other type as YAML."""

    key: str
    text: str

    def read(self, hint: Any) -> Any:
        text_types = (str, *get_args(hint)) if get_origin(hint) in (Union, types.UnionType) else ()
        if hint is str or str in text_types:
            return self.text
        return _parse_env_value(self.key, self.text)


def _parse_env_value(key: str, value: str) -> Any:
    try:
        return yaml.load(value, Loader=_Loader) if value.strip() else ""
    except (yaml.YAMLError, RecursionError):
        raise ConfigError(f"environment {key}: not a valid value: {value[:80]!r}") from None


def _set_path(target: dict[str, Any], parts: list[str], value: Any) -> None:
    node: Any = target
    for index, part in enumerate(parts):
        last = index == len(parts) - 1
        if isinstance(node, list):
            if not (part.isascii() and part.isdigit()):
                raise ConfigError(f"environment: {'.'.join(parts)}: {part!r} must be a list index")
            position = int(part)
            if position > len(node) + _MAX_NEW_ITEMS:  # never grow a list without bound
                raise ConfigError(
                    f"environment: {'.'.join(parts)}: list index {part} is too far past the "
                    f"{len(node)} items there"
                )
            while len(node) <= position:
                node.append({})
            key: Any = position
        else:
            key = part
        if last:
            node[key] = value
            return
        child = node[key] if (isinstance(node, list) or key in node) else None
        if isinstance(child, _EnvValue):  # CALLCENTER_WEB='{...}' and CALLCENTER_WEB__PORT
            child = node[key] = _parse_env_value(child.key, child.text)
        if not isinstance(child, dict | list):
            child = [] if parts[index + 1].isascii() and parts[index + 1].isdigit() else {}
            node[key] = child
        node = child


def _where(origin: str, lines: dict[str, int], dotted: str) -> str:
    line = lines.get(dotted)
    probe = dotted
    while line is None and "." in probe:
        probe = probe.rsplit(".", 1)[0]
        line = lines.get(probe)
    if line == -1:
        env_key = ENV_PREFIX + dotted.replace(".", "__").upper()
        return f"environment {env_key}"
    return f"{origin}:{line}" if line else origin


def _build(cls: type[Any], raw: Any, prefix: str, origin: str, lines: dict[str, int]) -> Any:
    where_self = prefix.rstrip(".") or "settings"
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{_where(origin, lines, where_self)}: {where_self}: must be a mapping")
    hints = get_type_hints(cls)
    known = {f.name for f in dataclasses.fields(cls)}
    errors: list[str] = []
    for key in raw:
        if key not in known:
            dotted = f"{prefix}{key}"
            errors.append(
                f"{_where(origin, lines, dotted)}: {dotted}: unknown setting "
                f"(known: {', '.join(sorted(known))})"
            )
    kwargs: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        if f.name not in raw:
            continue
        dotted = f"{prefix}{f.name}"
        try:
            kwargs[f.name] = _coerce(hints[f.name], raw[f.name], dotted, origin, lines)
        except ConfigError as exc:
            errors.append(str(exc))
    if errors:
        raise ConfigError("\n".join(errors))
    instance = cls(**kwargs)
    check = getattr(instance, "check", None)
    if check is not None:
        problems = check()
        if problems:
            raise ConfigError(
                "\n".join(
                    f"{_where(origin, lines, prefix + key)}: {prefix}{key}: {reason}"
                    for key, reason in problems.items()
                )
            )
    return instance


def _coerce(hint: Any, value: Any, dotted: str, origin: str, lines: dict[str, int]) -> Any:
    def fail(reason: str) -> ConfigError:
        return ConfigError(f"{_where(origin, lines, dotted)}: {dotted}: {reason}")

    if isinstance(value, _EnvValue):
        value = value.read(hint)

    origin_type = get_origin(hint)
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return _build(hint, value, dotted + ".", origin, lines)
    if origin_type is Literal:
        allowed = get_args(hint)
        if value not in allowed:
            raise fail(f"must be one of {', '.join(map(str, allowed))}, got {value!r}")
        return value
    if origin_type in (Union, types.UnionType):
        options = [a for a in get_args(hint) if a is not type(None)]
        if value is None:
            return None
        return _coerce(options[0], value, dotted, origin, lines)
    if origin_type is list:
        if not isinstance(value, list):
            raise fail(f"must be a list, got {type(value).__name__}")
        (item_type,) = get_args(hint)
        return [_coerce(item_type, v, f"{dotted}.{i}", origin, lines) for i, v in enumerate(value)]
    if origin_type is dict:
        if not isinstance(value, dict):
            raise fail(f"must be a mapping, got {type(value).__name__}")
        _, value_type = get_args(hint)
        return {
            str(k): _coerce(value_type, v, f"{dotted}.{k}", origin, lines) for k, v in value.items()
        }
    if hint is bool:
        if not isinstance(value, bool):
            raise fail(f"must be true or false, got {value!r}")
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise fail(f"must be a whole number, got {value!r}")
        return value
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise fail(f"must be a number, got {value!r}")
        try:
            number = float(value)
        except OverflowError:  # a whole number with hundreds of digits
            raise fail("is too large a number") from None
        if not math.isfinite(number):  # .nan would slip past every range check
            raise fail(f"must be a finite number, got {value!r}")
        return number
    if hint is str:
        if isinstance(value, bool) or value is None or isinstance(value, dict | list):
            raise fail(f"must be text, got {value!r}")
        return str(value)
    raise fail(f"unsupported setting type {hint!r}")
