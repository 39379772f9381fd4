"""callcenter: call-center telephony integration service for Asterisk."""
