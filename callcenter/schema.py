"""Every table of every feature on one metadata: what the migrations must build.

The composition layer, not `callcenter.db`, gathers the features' stores, so the database
package never imports a feature.
"""

from callcenter.calls import store as calls_store
from callcenter.cti import store as cti_store
from callcenter.db.base import Base
from callcenter.metrics import store as metrics_store
from callcenter.recordings import store as recordings_store
from callcenter.routing import store as routing_store

# Importing a store registers its tables on Base.metadata.
FEATURE_STORES = (calls_store, cti_store, metrics_store, recordings_store, routing_store)

metadata = Base.metadata
