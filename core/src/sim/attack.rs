//! The committee-sizing attack of DESIGN.md §4, run in the simulator.
