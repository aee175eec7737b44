"""Usage records and the measurements that energy, CO₂ and cost are built on."""
