"""The call tracker: a pure fold of events into call records."""
