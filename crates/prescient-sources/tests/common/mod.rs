//! Shared by the server tests.

pub(crate) mod known_series;
