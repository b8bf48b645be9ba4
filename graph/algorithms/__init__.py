"""Pure graph algorithms over networkx graphs: no I/O."""
