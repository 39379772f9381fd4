"""The recordings feature assembled: MixMonitor files linked to their calls as the calls
end, and the pages and routes to find, play and score them."""

from __future__ import annotations

from collections.abc import Sequence

from aiohttp import web
from sqlalchemy import Engine

from callcenter.core.contracts import QueueNames
from callcenter.core.feature import Duty, Listeners
from callcenter.recordings import api_doc
from callcenter.recordings.http import setup as setup_routes
from callcenter.recordings.linker import RecordingLinker
from callcenter.recordings.settings import RecordingsContext
from callcenter.recordings.store import RecordingStore
from callcenter.web.openapi_schema import ApiPart


class RecordingsFeature:
    def __init__(
        self,
        settings: RecordingsContext,
        engine: Engine,
        *,
        queue_names: QueueNames = lambda _lang: {},
    ) -> None:
        """``queue_names(lang)``: routing's names of the queues, for the page."""
        self.settings = settings
        self._queue_names = queue_names
        self.store = RecordingStore(engine)
        self.linker = RecordingLinker.from_settings(settings, self.store)

    @property
    def listeners(self) -> Listeners:
        # Index rows are written once, by the instance that speaks for the PBX.
        return Listeners(pbx_events=[self.linker.on_event], pbx_records=[self.linker.on_record])

    def routes(self, app: web.Application) -> None:
        setup_routes(app, store=self.store, settings=self.settings, queue_names=self._queue_names)

    def api_doc(self) -> ApiPart:
        return api_doc.PART

    async def start(self) -> None:
        self.linker.start()

    def duties(self) -> Sequence[Duty]:
        return ()

    async def stop(self) -> None:
        await self.linker.stop()
