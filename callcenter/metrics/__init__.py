"""Metrics: KPIs, concurrent lines, Erlang staffing, live counters and reports."""
