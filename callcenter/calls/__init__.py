"""Calls: the tracker (a pure fold of events into call records), their store and writer,
and reconciliation against queue_log and the CDR."""
