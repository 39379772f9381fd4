"""The YAML loader every settings, flow and roster file is read with."""

from __future__ import annotations

from typing import Any

import yaml


class PlacedSafeLoader(yaml.SafeLoader):
    """SafeLoader whose value errors (``!!int x``, ``!!timestamp 2026-13-45``) name the
    line and column, like every other YAML error, instead of escaping as Python errors.

    A key given twice in one mapping is refused with both lines: plain YAML keeps the
    last one silently, so a second ``simulator:`` section would hide the first."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, yaml.Node] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=True)
            try:
                first = seen.get(key)
            except TypeError:
                continue  # an unhashable key; the base class names that error
            if first is not None:
                raise yaml.constructor.ConstructorError(
                    None,
                    None,
                    f"duplicate key {key!r} (first on line {first.start_mark.line + 1})",
                    key_node.start_mark,
                )
            seen[key] = key_node
        return super().construct_mapping(node, deep)

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep)
        except (ValueError, TypeError, OverflowError, AttributeError) as exc:
            raise yaml.constructor.ConstructorError(
                None, None, f"not a valid value: {exc}", node.start_mark
            ) from None
