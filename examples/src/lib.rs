//! Runnable examples of embedding prescient: `cargo run -p prescient-examples --example embed`
//! and `--example async_host`.
