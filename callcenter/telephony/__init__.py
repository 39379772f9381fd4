"""Everything that speaks Asterisk: the AMI codec and client, translation into events,
FastAGI, and the queue_log and CDR readers."""
