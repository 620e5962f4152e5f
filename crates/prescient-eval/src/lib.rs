//! Scorers for prescient benchmarks.
