#![doc = include_str!("../README.md")]

mod error;
mod file;
mod key;
mod lease;
mod store;

#[cfg(feature = "redis")]
mod redis;

pub use error::{Error, Result};
pub use file::FileStore;
pub use key::{Key, KeySpace, MAX_KEY_LEN, MAX_PART_LEN};
pub use lease::{Elector, ElectorParams, LeaderWatch, Leadership, Lease, MemoryLease};
pub use store::{Conflict, MemoryStore, StateStore, Versioned};

#[cfg(feature = "redis")]
pub use crate::redis::{RedisLease, RedisParams, RedisStore};
