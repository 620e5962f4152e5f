//! Timestamps (NAB files, demand traces) as microseconds since 1970-01-01 00:00:00 (no time zone).
//!
//! The reference scorer compares naive `datetime`s; exact integer microseconds compare the same
//! way. The parser is core's, shared with the CSV sources.

pub(crate) use prescient_core::parse_datetime_micros as parse_micros;
