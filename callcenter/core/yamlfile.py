"""The YAML loader every settings, flow and roster file is read with, and the one way
a file that does not parse is reported: the line (and column) and what is wrong; and
the one way a changed file is written back (atomically)."""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import yaml

LoaderT = TypeVar("LoaderT", bound=yaml.SafeLoader)
Parsed = TypeVar("Parsed")


class YamlSyntaxError(Exception):
    """A text that is not YAML. ``line`` and ``column`` are 1-based; ``marked`` says the
    parser pointed at the place (otherwise the column is only as good as a guess)."""

    def __init__(self, line: int, column: int, problem: str, *, marked: bool) -> None:
        super().__init__(f"{line}:{column}: {problem}")
        self.line = line
        self.column = column
        self.problem = problem
        self.marked = marked


# PyYAML's problems, in Chinese, for people who fix a file on a Chinese page: the
# parser's own tokens named as a reader knows them.
_YAML_TOKENS_ZH = {
    "'<stream end>'": "文件结尾", "<stream end>": "文件结尾", "<block end>": "缩进块的结尾",
    "'<document start>'": "文档开头", "<document start>": "文档开头",
}  # fmt: skip
_YAML_PROBLEMS_ZH: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), zh)
    for pattern, zh in (
        (r"expected (.+?), but (?:got|found) (.+)", "此处应为 {0}，实际是 {1}"),
        (r"could not find expected ':'", "缺少应有的冒号 ':'"),
        (r"mapping values are not allowed here", "此处不能写键值（冒号后缺空格或缩进不对？）"),
        (
            r"found character (.+) that cannot start any token",
            "字符 {0} 不能出现在这里（制表符？）",
        ),
        (r"found unexpected end of stream", "文件意外结束（引号或括号没有闭合？）"),
        (r"found undefined alias (.+)", "未定义的别名 {0}"),
        (r"duplicate key (.+) \(first on line (\d+)\)", "键 {0} 重复（第一次在第 {1} 行）"),
        (r"nested too deeply", "嵌套层数过多"),
        (r"unacceptable character (.+)", "不允许的字符 {0}"),
    )
)


def yaml_problem_zh(problem: str) -> str:
    """``YamlSyntaxError.problem`` in Chinese where it is a known one, else as it is."""
    for pattern, zh in _YAML_PROBLEMS_ZH:
        found = pattern.fullmatch(problem.strip())
        if found:
            named = (_YAML_TOKENS_ZH.get(g, g).replace(" or ", " 或 ") for g in found.groups())
            return zh.format(*named)
    return problem


def parse_yaml_text(
    text: str, loader_class: type[LoaderT], read: Callable[[LoaderT], Parsed]
) -> Parsed:
    """``read(loader)`` on a loader over ``text``; every way the text can fail to parse
    (syntax, a control character, nesting too deep for the stack) becomes a
    :class:`YamlSyntaxError` that names the line."""
    loader: LoaderT | None = None
    try:
        loader = loader_class(text)  # reads the text once, refusing control characters
        return read(loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        problem = exc.problem or exc.context or str(exc)
        raise YamlSyntaxError(line, column, problem, marked=mark is not None) from None
    except yaml.reader.ReaderError as exc:  # a control character: no mark, a position
        line = text.count("\n", 0, exc.position) + 1
        column = exc.position - (text.rfind("\n", 0, exc.position) + 1) + 1
        character = exc.character
        problem = f"{exc.reason} #x{character:04x}" if isinstance(character, int) else exc.reason
        raise YamlSyntaxError(line, column, problem, marked=False) from None
    except yaml.YAMLError as exc:
        raise YamlSyntaxError(1, 1, str(exc), marked=False) from None
    except RecursionError:
        line, column = (loader.line + 1, loader.column + 1) if loader is not None else (1, 1)
        raise YamlSyntaxError(line, column, "nested too deeply", marked=False) from None
    finally:
        if loader is not None:
            loader.dispose()


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


def write_atomically(path: str | Path, text: str) -> None:
    """Write ``text`` so that a reader never sees half a file."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
