//! What an insert returns: the row as the database stored it.

use crate::Error;
use std::time::SystemTime;

/// A `river_job` row as the database returned it. JSON columns are kept as the text
/// Postgres returned, so big integers stay exact.
#[derive(Debug, Clone)]
pub struct Job {
    pub id: i64,
    pub args: String,
    pub attempt: i16,
    pub attempted_at: Option<SystemTime>,
    pub attempted_by: Vec<String>,
    pub created_at: SystemTime,
    pub errors: String,
    pub finalized_at: Option<SystemTime>,
    pub kind: String,
    pub max_attempts: i16,
    pub metadata: String,
    pub priority: i16,
    pub queue: String,
    pub scheduled_at: SystemTime,
    pub state: String,
    pub tags: Vec<String>,
    pub unique_key: Option<Vec<u8>>,
    /// Unique-states bitmask, or None when the column is NULL.
    pub unique_states: Option<u8>,
}

/// The inserted row, or the live duplicate with `unique_skipped_as_duplicate` set.
#[derive(Debug, Clone)]
pub struct InsertResult {
    pub job: Job,
    pub unique_skipped_as_duplicate: bool,
}

impl InsertResult {
    /// A row of `sql/job_insert_many.sql`: the job's columns, then the duplicate flag.
    pub(crate) fn from_row(r: &tokio_postgres::Row) -> Result<Self, Error> {
        Ok(InsertResult {
            job: Job {
                id: r.try_get(0)?,
                args: r.try_get(1)?,
                attempt: r.try_get(2)?,
                attempted_at: r.try_get(3)?,
                attempted_by: r.try_get::<_, Option<Vec<String>>>(4)?.unwrap_or_default(),
                created_at: r.try_get(5)?,
                errors: r.try_get(6)?,
                finalized_at: r.try_get(7)?,
                kind: r.try_get(8)?,
                max_attempts: r.try_get(9)?,
                metadata: r.try_get(10)?,
                priority: r.try_get(11)?,
                queue: r.try_get(12)?,
                scheduled_at: r.try_get(13)?,
                state: r.try_get(14)?,
                tags: r.try_get::<_, Option<Vec<String>>>(15)?.unwrap_or_default(),
                unique_key: r.try_get(16)?,
                unique_states: r.try_get::<_, Option<i32>>(17)?.map(|m| m as u8),
            },
            unique_skipped_as_duplicate: r.try_get(18)?,
        })
    }
}
