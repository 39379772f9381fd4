"""The IVR feature assembled: the flows (reloaded when their files change) answering
callers over FastAGI (``agi_session`` is the server's session handler). The FastAGI server
(``fastagi``) is started and closed by the service with the PBX links, as the adapter it is."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import structlog
from aiohttp import web

from callcenter.core.events import Event
from callcenter.core.feature import Duty, Listeners
from callcenter.ivr import admin_page, api_doc
from callcenter.ivr.agi_session import IvrSessions, Lookup, RouteHousekeeper
from callcenter.ivr.http import setup as setup_routes
from callcenter.ivr.registry import FlowRegistry
from callcenter.ivr.settings import FlowsContext
from callcenter.telephony.fastagi import FastAgiServer
from callcenter.telephony.settings import FastAgiSettings
from callcenter.web.openapi_schema import ApiPart

log = structlog.get_logger(__name__)


class IvrFeature:
    """``lookup``: the caller's owner (CTI's directory); ``route_housekeeper``: where an
    owner's call to their housekeeper goes (routing's decision); ``publish``: where the
    callers' choices go; ``pbxes``: the PBX names, the first the default one;
    ``pbx_hosts``: each PBX's address, to tell requests apart."""

    def __init__(
        self,
        settings: FlowsContext,
        *,
        fastagi: FastAgiSettings,
        timezone: str,
        pbxes: Sequence[str],
        lookup: Lookup | None,
        route_housekeeper: RouteHousekeeper | None,
        publish: Callable[[Event], None],
        clock: Callable[[], float],
        pbx_hosts: Mapping[str, str],
    ) -> None:
        self.flows = FlowRegistry.from_settings(settings)
        ivr = settings.ivr
        sessions = IvrSessions(
            flows=self.flows,
            lookup=lookup,
            on_event=publish,
            clock=clock,
            zone=timezone,
            sound_prefix=ivr.sound_prefix,
            lookup_timeout_s=ivr.lookup_timeout_s,
            queue_mode=ivr.queue_mode,
            route_housekeeper=route_housekeeper,
        )
        self.fastagi = FastAgiServer(
            fastagi.host,
            fastagi.port,
            sessions,
            pbx=pbxes[0],
            pbx_names=pbxes,
            pbx_hosts=pbx_hosts,
            header_timeout_s=ivr.header_timeout_s,
        )

    def reload(self) -> None:
        """Re-read the flows; a broken set is refused, the last good one stays."""
        problems = self.flows.reload()
        if problems:
            log.warning("ivr flows refused, keeping the last good ones", problems=len(problems))

    @property
    def listeners(self) -> Listeners:
        return Listeners()

    def routes(self, app: web.Application) -> None:
        setup_routes(app, self.flows)
        admin_page.setup(app)

    def api_doc(self) -> ApiPart:
        return api_doc.PART

    async def start(self) -> None:
        pass

    def duties(self) -> Sequence[Duty]:
        # A changed flow file is reloaded; a broken one is refused and the last good set stays.
        return [Duty("ivr-watch", lambda: self.flows.watch(interval_s=2.0))]

    async def stop(self) -> None:
        pass
