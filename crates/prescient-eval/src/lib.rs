#![doc = include_str!("../README.md")]

mod error;
pub mod m4;
pub mod nab;
mod time;
pub mod trace;

pub use error::{Error, Result};
