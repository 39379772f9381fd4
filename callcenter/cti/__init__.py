"""CTI: owners and caller lookup, screen-pops, the seat page, work orders and callbacks."""
