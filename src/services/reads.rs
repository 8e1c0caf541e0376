//! Where the reads that may use a streaming replica go: the ledger export, entries and
//! balances, the audit list and the reports. Named here once; their handlers ask `Reads::db`
//! for the database to read and pass it to their service as any other.
//!
//! Read-your-writes (API.md: an export started after a 2xx includes that write): the
//! primary's WAL position is taken at the read's start and the replica is used only once it
//! has replayed that far, waited for at most `database.replica_max_wait_ms`; otherwise, and
//! while the replica is unreachable or is no longer a standby (promoted), the read goes to the
//! primary. Writes never come here.

use crate::api::metrics::Metrics;
use crate::db::{replication, Db, DbError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How often the replica's replay position is read while a read waits for it.
const POLL: Duration = Duration::from_millis(5);
/// After the replica failed to answer, reads go straight to the primary for this long, so
/// that a replica that is down costs one read its wait, not every read.
const DOWN_FOR: Duration = Duration::from_secs(1);
/// How long /health/ready waits for the replica's answer.
const HEALTH_WAIT: Duration = Duration::from_millis(250);

#[derive(Clone)]
pub struct Reads {
    primary: Db,
    replica: Option<Arc<Replica>>,
    metrics: Arc<Metrics>,
}

struct Replica {
    db: Db,
    max_wait: Duration,
    /// Until when the replica is taken as down.
    down_until: Mutex<Option<Instant>>,
}

/// Why a read went to the primary although a replica is configured (a metric label).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fallback {
    /// The replica had not replayed the primary's position within the wait.
    Timeout,
    /// The replica did not answer (or did not recently).
    ReplicaDown,
    /// The replica is not in recovery: promoted, or pointed at a primary.
    NotStandby,
    /// The primary's position could not be read; the read meets the same primary.
    NoPosition,
}

impl Fallback {
    pub fn label(self) -> &'static str {
        match self {
            Fallback::Timeout => "timeout",
            Fallback::ReplicaDown => "replica_down",
            Fallback::NotStandby => "not_standby",
            Fallback::NoPosition => "no_position",
        }
    }
}

impl Reads {
    /// Reads from `primary` alone.
    pub fn primary_only(primary: Db, metrics: Arc<Metrics>) -> Self {
        Reads {
            primary,
            replica: None,
            metrics,
        }
    }

    /// Reads from `replica` when it has caught up within `max_wait`, else from `primary`.
    pub fn with_replica(
        primary: Db,
        replica: Db,
        max_wait: Duration,
        metrics: Arc<Metrics>,
    ) -> Self {
        Reads {
            primary,
            replica: Some(Arc::new(Replica {
                db: replica,
                max_wait,
                down_until: Mutex::new(None),
            })),
            metrics,
        }
    }

    /// The database for a read that must see every write acknowledged before it started.
    pub async fn db(&self) -> Db {
        let Some(replica) = &self.replica else {
            return self.primary.clone();
        };
        let started = Instant::now();
        match self.caught_up(replica).await {
            Ok(()) => {
                self.metrics
                    .replica_read("replica", started.elapsed().as_secs_f64());
                replica.db.clone()
            }
            Err(why) => {
                if why == Fallback::ReplicaDown {
                    replica.mark_down();
                }
                tracing::debug!(reason = why.label(), "read from the primary");
                self.metrics
                    .replica_read(why.label(), started.elapsed().as_secs_f64());
                self.primary.clone()
            }
        }
    }

    /// Waits until the replica has replayed the primary's current position.
    async fn caught_up(&self, replica: &Replica) -> Result<(), Fallback> {
        if replica.is_marked_down() {
            return Err(Fallback::ReplicaDown);
        }
        let lsn = self
            .primary
            .run(|conn| replication::current_wal_lsn(conn).map_err(DbError::from))
            .await
            .map_err(|_| Fallback::NoPosition)?;
        let deadline = Instant::now() + replica.max_wait;
        loop {
            let at = lsn.clone();
            let replay = replica
                .db
                .run(move |conn| replication::replay(conn, &at).map_err(DbError::from))
                .await
                .map_err(|e| {
                    tracing::warn!(error = %e, "the replica did not answer");
                    Fallback::ReplicaDown
                })?;
            if !replay.standby {
                return Err(Fallback::NotStandby);
            }
            self.metrics.replica_lag(replay.behind_bytes);
            if replay.caught_up {
                return Ok(());
            }
            // The last look is at the bound, so that a read waits the whole of it.
            let now = Instant::now();
            if now >= deadline {
                return Err(Fallback::Timeout);
            }
            tokio::time::sleep(POLL.min(deadline - now)).await;
        }
    }

    /// The replica's state for /health/ready: `None` without a replica, else `streaming`
    /// (a standby that answers), `not_standby` or `down` (also when it does not answer within
    /// `HEALTH_WAIT`, so that a probe's own timeout never trips over the replica).
    pub async fn replica_state(&self) -> Option<&'static str> {
        let replica = self.replica.as_ref()?;
        if replica.is_marked_down() {
            return Some("down");
        }
        let standby = replica
            .db
            .run(|conn| replication::is_standby(conn).map_err(DbError::from));
        Some(match tokio::time::timeout(HEALTH_WAIT, standby).await {
            Ok(Ok(true)) => "streaming",
            Ok(Ok(false)) => "not_standby",
            Ok(Err(_)) | Err(_) => {
                replica.mark_down();
                "down"
            }
        })
    }
}

impl Replica {
    fn mark_down(&self) {
        *self.down_until.lock().expect("not poisoned") = Some(Instant::now() + DOWN_FOR);
    }

    fn is_marked_down(&self) -> bool {
        let mut down = self.down_until.lock().expect("not poisoned");
        match *down {
            Some(until) if Instant::now() < until => true,
            Some(_) => {
                *down = None;
                false
            }
            None => false,
        }
    }
}
