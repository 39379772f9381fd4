"""Seats, shifts and routing: who is on duty, queue membership kept in line with the
roster, housekeeper-first routing decisions and staffing minimums.

Pure cores: ``shifts``, ``roster``, ``roster_edit``, ``duty``, ``staffing``,
``agent_state``, ``occupancy``, ``decisions``, ``housekeeper``, ``queuerules``,
``sync.plan``. Adapters: ``sync.MembershipSync`` (AMI), ``alerts`` (webhook), ``store``,
``state_time``, ``http``, ``roster_http``, ``admin_pages``, ``cli``.
"""
