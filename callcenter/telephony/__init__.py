"""Everything that speaks Asterisk: the AMI codec and client, and translation into events."""
