"""The simulated LLM endpoint: every provider wire format, latency models, faults, truth.

    async with SimServer({"default": "fast", "slow": "slow"}) as sim:
        base = sim.base_url("openai_chat", profile="slow")
        ...
        sim.truth(record.server_request_id).events

    with start_sim_in_thread(...) as sim:  # from synchronous code
        ...

Run standalone with ``lens sim --port P`` or ``python -m lens.sim``.
"""

from __future__ import annotations

from lens.sim.profiles import FAULT_KINDS, PRESETS, Faults, Profile, parse_profile_arg
from lens.sim.server import ROUTES, SimServer, base_url_for
from lens.sim.thread import SimThread, start_sim_in_thread
from lens.sim.truth import SimEvent, SimTruth

__all__ = [
    "FAULT_KINDS",
    "PRESETS",
    "ROUTES",
    "Faults",
    "Profile",
    "SimEvent",
    "SimServer",
    "SimThread",
    "SimTruth",
    "base_url_for",
    "parse_profile_arg",
    "start_sim_in_thread",
]
