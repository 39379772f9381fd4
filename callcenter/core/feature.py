"""The shape every feature has, so the composition root can loop over them.

A feature is built by ``callcenter.service`` from its settings and the shared things it
needs (the database engine, the clock, ``publish``, callables another feature offers);
nothing is set on it after construction. Then the service:

- adds its ``listeners`` to the event flow,
- lets it add its ``routes(app)`` to the web application, and hands ``api_doc()`` (the
  OpenAPI part of those routes) to the document,
- calls ``start()`` before the PBX links start and runs its ``duties()`` once they have,
- calls ``stop()`` once the PBX links and the FastAGI server are closed (gracefully, or
  dropped as a killed process would drop them).
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from aiohttp import web

from callcenter.core.call_record import CallRecord
from callcenter.core.events import Event

EventListener = Callable[[Event], None]
RecordListener = Callable[[CallRecord], None]


@dataclass(frozen=True)
class Listeners:
    """What a feature follows, each called in order; a failure is logged and goes no
    further. ``events`` and ``records`` keep a live picture: every PBX's, on every
    instance. ``pbx_events`` and ``pbx_records`` act on what happened and run only on the
    instance that speaks for the PBX, so several instances do not do it twice."""

    events: Sequence[EventListener] = ()
    records: Sequence[RecordListener] = ()
    pbx_events: Sequence[EventListener] = ()
    pbx_records: Sequence[RecordListener] = ()


@dataclass(frozen=True)
class Duty:
    """A loop a feature runs while the service runs. With ``pbx``, it runs only while this
    instance speaks for that PBX (restarted if it fails)."""

    name: str
    run: Callable[[], Coroutine[Any, Any, None]]
    pbx: str | None = None


ApiPartT_co = TypeVar("ApiPartT_co", covariant=True)


class Feature(Protocol[ApiPartT_co]):
    """One feature as the composition root sees it (``ApiPartT_co``: the web's OpenAPI part)."""

    @property
    def listeners(self) -> Listeners: ...

    def routes(self, app: web.Application) -> None: ...

    def api_doc(self) -> ApiPartT_co: ...

    async def start(self) -> None: ...

    def duties(self) -> Sequence[Duty]: ...

    async def stop(self) -> None: ...
