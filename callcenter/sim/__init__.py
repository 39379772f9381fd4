"""A PBX simulator that speaks Asterisk's AMI and FastAGI, with a seeded traffic model.

``PbxSimulator(SimConfig(...))`` runs an AMI server, generates calls (a trunk or Local
channel caller -> menu/FastAGI -> app_queue -> agents on PJSIP or Local interfaces), writes
``queue_log`` and ``Master.csv`` (and a cdr table) and records the ground truth of every call
in ``finished``.
"""

from callcenter.sim.config import (
    AgiTarget,
    Member,
    QueueConfig,
    SimConfig,
    TrafficParams,
    agents,
    daytime_start,
    default_queues,
)
from callcenter.sim.pbx import CallOutcome
from callcenter.sim.runner import PbxSimulator, run_simulator

__all__ = [
    "AgiTarget",
    "CallOutcome",
    "Member",
    "PbxSimulator",
    "QueueConfig",
    "SimConfig",
    "TrafficParams",
    "agents",
    "daytime_start",
    "default_queues",
    "run_simulator",
]
