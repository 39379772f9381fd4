"""CTI: sign-in and users, owners and caller lookup, screen-pops, the seat page, work
orders and callbacks, API tokens and the events webhook."""
