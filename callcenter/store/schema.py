"""Every table of every feature on one metadata: what the migrations must build."""

from callcenter.store import cti, metrics, recordings, routing  # noqa: F401  (registers their tables)
from callcenter.store.models import Base

metadata = Base.metadata
