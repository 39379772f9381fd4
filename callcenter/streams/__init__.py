"""Several instances, one picture: events and finished calls shared over Redis Streams."""
