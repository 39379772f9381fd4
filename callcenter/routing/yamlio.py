"""YAML and CSV reading that remembers line numbers, so every error names ``file:line``."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import yaml

from callcenter.core.yamlfile import PlacedSafeLoader, YamlSyntaxError, parse_yaml_text


class RoutingConfigError(ValueError):
    """A routing file (shifts, roster, agents) is wrong; the message says where and why."""


class LineDict(dict[str, Any]):
    """A mapping read from YAML, with the line of itself and of each key."""

    line: int = 0
    key_lines: dict[str, int]

    def __init__(self) -> None:
        super().__init__()
        self.key_lines = {}

    def line_of(self, key: str) -> int:
        return self.key_lines.get(key, self.line)


class LineList(list[Any]):
    line: int = 0
    item_lines: list[int]

    def __init__(self) -> None:
        super().__init__()
        self.item_lines = []

    def line_of(self, index: int) -> int:
        return self.item_lines[index] if index < len(self.item_lines) else self.line


class _Loader(PlacedSafeLoader):
    """Its own class: constructors registered here stay here."""


def _mapping(loader: _Loader, node: yaml.MappingNode) -> LineDict:
    data = LineDict()
    data.line = node.start_mark.line + 1
    loader.flatten_mapping(node)
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        data[str(key)] = loader.construct_object(value_node, deep=True)
        data.key_lines[str(key)] = key_node.start_mark.line + 1
    return data


def _sequence(loader: _Loader, node: yaml.SequenceNode) -> LineList:
    data = LineList()
    data.line = node.start_mark.line + 1
    for item in node.value:
        data.append(loader.construct_object(item, deep=True))
        data.item_lines.append(item.start_mark.line + 1)
    return data


def _number(loader: _Loader, node: yaml.ScalarNode) -> Any:
    # YAML 1.1 reads 20:00 as the base-60 number 1200; a clock time must stay text.
    if ":" in str(node.value):
        return str(node.value)
    if node.tag.endswith(":int"):
        return loader.construct_yaml_int(node)
    return loader.construct_yaml_float(node)


def _boolean(loader: _Loader, node: yaml.ScalarNode) -> Any:
    # YAML 1.1 reads off/on/yes/no as booleans; "off" is a day off in a roster.
    text = str(node.value)
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    return text


def _timestamp(loader: _Loader, node: yaml.ScalarNode) -> Any:
    # An impossible date (2026-13-01) stays text, so the field's check can say where it is.
    try:
        return loader.construct_yaml_timestamp(node)
    except (ValueError, AttributeError):  # AttributeError: "!!timestamp x" matches no date
        return str(node.value)


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)
_Loader.add_constructor("tag:yaml.org,2002:timestamp", _timestamp)
_Loader.add_constructor("tag:yaml.org,2002:bool", _boolean)
_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _sequence)
_Loader.add_constructor("tag:yaml.org,2002:int", _number)
_Loader.add_constructor("tag:yaml.org,2002:float", _number)


def load_yaml(path: str | Path) -> LineDict:
    """Read a YAML file whose top level is a mapping (an empty file is an empty mapping)."""
    where = Path(path)
    try:
        text = where.read_text(encoding="utf-8")
    except OSError as exc:
        raise RoutingConfigError(f"{where}: cannot read: {exc.strerror or exc}") from None
    return parse_yaml(text, str(where))


def parse_yaml(text: str, origin: str) -> LineDict:
    try:
        data = parse_yaml_text(text, _Loader, _Loader.get_single_data)
    except YamlSyntaxError as exc:
        raise RoutingConfigError(f"{origin}:{exc.line}: invalid YAML: {exc.problem}") from None
    if data is None:
        empty = LineDict()
        empty.line = 1
        return empty
    if not isinstance(data, LineDict):
        raise RoutingConfigError(f"{origin}:1: the file must be a mapping of keys to values")
    return data


def load_csv(path: str | Path) -> list[tuple[int, dict[str, str]]]:
    """Rows of a CSV file with a header line, each with its line number."""
    where = Path(path)
    try:
        with where.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.DictReader(handle)
            return [
                (reader.line_num, {k.strip(): (v or "").strip() for k, v in row.items() if k})
                for row in reader
            ]
    except OSError as exc:
        raise RoutingConfigError(f"{where}: cannot read: {exc.strerror or exc}") from None


class Where:
    """Builds ``file:line: key: problem`` messages for one file."""

    def __init__(self, origin: str) -> None:
        self.origin = origin

    def error(self, line: int, key: str, problem: str) -> RoutingConfigError:
        prefix = f"{self.origin}:{line}" if line else self.origin
        return RoutingConfigError(f"{prefix}: {key}: {problem}" if key else f"{prefix}: {problem}")

    def mapping(self, value: Any, line: int, key: str) -> LineDict:
        if not isinstance(value, LineDict):
            raise self.error(line, key, "must be a mapping")
        return value

    def check_keys(
        self,
        body: LineDict,
        dotted: str,
        known: set[str],
        required: set[str] | frozenset[str] = frozenset(),
    ) -> None:
        """``body`` has only ``known`` keys, and all the ``required`` ones."""
        for key in body:
            if key not in known:
                raise self.error(
                    body.line_of(key),
                    f"{dotted}.{key}",
                    f"unknown key (known: {', '.join(sorted(known))})",
                )
        for key in sorted(required - set(body)):
            raise self.error(body.line, dotted, f"missing {key!r}")

    def sequence(self, value: Any, line: int, key: str) -> LineList:
        if not isinstance(value, LineList):
            raise self.error(line, key, "must be a list")
        return value

    def text(self, value: Any, line: int, key: str) -> str:
        if not isinstance(value, str | int) or isinstance(value, bool) or str(value) == "":
            raise self.error(line, key, f"must be a non-empty text, got {value!r}")
        return str(value)
