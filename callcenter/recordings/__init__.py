"""Call recordings: the MixMonitor files on disk, indexed, linked to calls, searched,
played in the browser under access control, kept as long as the rules say, and scored."""
