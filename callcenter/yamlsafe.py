"""The YAML loader every settings, flow and roster file is read with."""

from __future__ import annotations

from typing import Any

import yaml


class PlacedSafeLoader(yaml.SafeLoader):
    """SafeLoader whose value errors (``!!int x``, ``!!timestamp 2026-13-45``) name the
    line and column, like every other YAML error, instead of escaping as Python errors."""

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep)
        except (ValueError, TypeError, OverflowError, AttributeError) as exc:
            raise yaml.constructor.ConstructorError(
                None, None, f"not a valid value: {exc}", node.start_mark
            ) from None
