"""Seats, shifts and routing: who is on duty, queue membership kept in line with the
roster, housekeeper-first routing decisions and staffing minimums.

Pure cores: ``shifts``, ``roster``, ``duty``, ``staffing``, ``agent_state``, ``decisions``,
``sync.plan``. Adapters: ``sync.MembershipSync`` (AMI), ``alerts`` (webhook), ``http``,
``cli``.
"""
