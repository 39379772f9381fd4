"""The set of flows being served, and reloading it without ever serving a broken one.

A reload reads and validates every file; when anything is wrong the new set is refused as
a whole (flows may ``goto`` each other), the previous good set keeps serving, and the
reasons are logged. Call ``reload()`` on SIGHUP, or run ``watch()`` to reload on changes.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Collection, Mapping
from pathlib import Path

import structlog

from callcenter.ivr.loader import Problem, flow_files
from callcenter.ivr.prompts import Catalogue, load_catalogue
from callcenter.ivr.schema import Flow
from callcenter.ivr.settings import FlowsContext
from callcenter.ivr.validator import validate_paths

log = structlog.get_logger(__name__)


class FlowRegistry:
    def __init__(
        self,
        directory: str | Path,
        *,
        hotlines: Mapping[str, str] | None = None,
        default_flow: str = "hotline",
        queues: Collection[str] | None = None,
        prompts_dir: str | Path | None = None,
        check_audio: bool = False,
    ) -> None:
        self.directory = Path(directory)
        self.hotlines = dict(hotlines or {})
        self.default_flow = default_flow
        self.queues = None if queues is None else frozenset(queues)
        self.prompts_dir = Path(prompts_dir) if prompts_dir else self.directory / "prompts"
        self.check_audio = check_audio
        self.flows: Mapping[str, Flow] = {}
        self.catalogue = Catalogue()
        self.refused: list[Problem] = []  # why the last reload was refused ([] if it was not)
        self._stamp: tuple[tuple[str, float], ...] = ()

    @classmethod
    def from_settings(cls, settings: FlowsContext) -> FlowRegistry:
        """The flows of ``settings.ivr_dir``, checked against ``settings.ivr.queues``."""
        ivr = settings.ivr
        registry = cls(
            settings.ivr_dir,
            hotlines=settings.hotlines,
            default_flow=ivr.default_flow,
            queues=ivr.queues or None,
            prompts_dir=ivr.prompts_dir,
            check_audio=ivr.check_audio,
        )
        registry.reload()
        return registry

    def reload(self) -> list[Problem]:
        """Load and validate everything; swap it in only if there is no problem."""
        stamp = self._current_stamp()
        catalogue, problems = load_catalogue(self.prompts_dir, check_audio=self.check_audio)
        flows, found = validate_paths([self.directory], queues=self.queues, catalogue=catalogue)
        problems += found
        if not flows and not problems:
            problems.append(Problem(str(self.directory), 1, 1, "no flows found"))
        self._stamp = stamp
        if problems:
            self.refused = problems
            log.warning(
                "ivr flows refused; the previous version stays",
                directory=str(self.directory),
                problems=[str(p) for p in problems[:20]],
                count=len(problems),
            )
            return problems
        self.flows = {f.name: f for f in flows}
        self.catalogue = catalogue
        self.refused = []
        log.info("ivr flows loaded", flows=sorted(self.flows))
        return []

    def flow_for(self, dialled: str, script: str = "") -> Flow | None:
        """The flow for a dialled number; else the AGI script name; else the default."""
        for name in (self.hotlines.get(dialled, ""), script, self.default_flow):
            if name and name in self.flows:
                return self.flows[name]
        return None

    def _current_stamp(self) -> tuple[tuple[str, float], ...]:
        files, _ = flow_files([self.directory])
        extra = [self.prompts_dir / "zh.yaml", self.prompts_dir / "en.yaml"]
        out = []
        for path in [*files, *extra]:
            with contextlib.suppress(OSError):
                out.append((str(path), path.stat().st_mtime))
        return tuple(out)

    def changed(self) -> bool:
        return self._current_stamp() != self._stamp

    async def watch(self, interval_s: float = 2.0) -> None:
        """Reload whenever a flow or prompt file changes (runs until cancelled)."""
        while True:
            await asyncio.sleep(interval_s)
            if self.changed():
                self.reload()
