//! riverboat for Rust: a thin, insert-only client for River's Postgres job table.
//!
//! Jobs inserted here are indistinguishable from jobs inserted by River Go v0.51.2: the same
//! columns, the same args bytes, the same unique keys, the same insert notification.

pub mod blocking;
mod client;
mod contract;
mod error;
mod job;
pub mod json;
mod options;
pub mod time;
pub mod unique;
mod validation;

pub use client::{Client, Config};
pub use contract::KindDefaults;
pub use error::{Error, RULES};
pub use job::{InsertResult, Job};
pub use options::{Args, ByArgs, InsertOpts, InsertParams, JobState, UniqueOpts};
pub use validation::{validate_queue, validate_tag};
