//! Every accepted write goes through `write` (or `write_closing`): one transaction that
//! applies the effect, records the audit event, and stores the response for replay under
//! the request's idempotency key.
//!
//! The key is taken by storing the answer, the transaction's last write; the primary key of
//! `idempotency_keys` decides which of two requests with one key gets it. A request that
//! fails under a key asks, on the same connection, for the answer stored under the key once
//! any request holding it has ended (`db::idempotency::settled`), and replays it if there is
//! one. So a retry, or a race of retries, applies once, and the losers of a race replay the
//! winner's answer: they fail on its key, or on what it changed, and wait for its commit.
//! One window is left: a duplicate that fails before the winner has written its key, for a
//! reason a third request created in between, answers with its own failure. A retry of a
//! stored write runs its effect again before it is rolled back and replayed; only failing
//! writes pay for asking.

use super::events::{self, Event};
use super::ServiceError;
use crate::db::audit::AuditRow;
use crate::db::cached::Batch;
use crate::db::idempotency::IdempotencyRow;
use crate::db::{self, tx, Db, DbConnection};
use crate::domain::actor::Actor;
use crate::domain::time;
use serde::Serialize;

/// Who writes, under which request, with which idempotency key.
#[derive(Debug, Clone)]
pub struct WriteCtx {
    pub actor: Actor,
    pub request_id: String,
    /// Audit name of the command, e.g. `material.create`.
    pub action: &'static str,
    pub idempotency: Option<IdempotencyRequest>,
}

/// An `Idempotency-Key` and the fingerprint of the request it came with (method, path, body).
#[derive(Debug, Clone)]
pub struct IdempotencyRequest {
    pub key: String,
    pub fingerprint: String,
}

/// What a command did: the response body, the object it touched (for the audit trail) and
/// the events it reports (API.md, "Notifications"), written with its closing writes. Every
/// command states its events, if only as none.
pub struct Effect<T> {
    pub target: Option<String>,
    pub body: T,
    pub events: Vec<Event>,
}

/// The answer to a write, ready to send: fresh, or replayed byte for byte.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub body: String,
    pub replayed: bool,
}

/// Runs `effect` in one write transaction under `ctx`; `status` is the HTTP status of
/// success, stored with the body for replay.
pub async fn write<T, F>(
    db: &Db,
    ctx: WriteCtx,
    status: u16,
    mut effect: F,
) -> Result<Reply, ServiceError>
where
    T: Serialize,
    F: FnMut(&mut DbConnection) -> Result<Effect<T>, ServiceError> + Send + 'static,
{
    write_closing(db, ctx, status, move |conn, closing| {
        let done = effect(conn)?;
        closing.send(conn, done, Batch::new())
    })
    .await
}

/// `write` for an effect that sends the closing writes (`Closing`) itself, with its own last
/// writes: in one round trip on PostgreSQL (`db::cached::Batch`).
pub async fn write_closing<F>(
    db: &Db,
    ctx: WriteCtx,
    status: u16,
    mut effect: F,
) -> Result<Reply, ServiceError>
where
    F: FnMut(&mut DbConnection, &Closing) -> Result<Closed, ServiceError> + Send + 'static,
{
    let reply = db
        .run(move |conn| {
            let caller = ctx.actor.scope();
            let outcome = tx::write(conn, |conn| {
                let closing = Closing {
                    ctx: &ctx,
                    caller: &caller,
                    status,
                    now: time::now(),
                };
                effect(conn, &closing).map(|closed| closed.0)
            });
            match (outcome, &ctx.idempotency) {
                // A connection lost or a database unreachable cannot be asked either.
                (Err(failed), Some(idem)) if !matches!(failed, ServiceError::Unavailable(_)) => {
                    // Not knowing whether an answer is stored, answer 5xx (`?`), never a refusal.
                    match db::idempotency::settled(conn, &caller, &idem.key, time::now())? {
                        Some(stored) => replay(stored, idem),
                        None => Err(failed),
                    }
                }
                (outcome, _) => outcome,
            }
        })
        .await?;
    if !reply.replayed {
        db.written().notify_one();
    }
    Ok(reply)
}

/// The writes every accepted write ends with: its events (the outbox), its audit event and,
/// under an idempotency key, its stored answer. The effect sends them with its own last
/// writes.
pub struct Closing<'a> {
    ctx: &'a WriteCtx,
    /// `ctx.actor.scope()`: whose keys the answer is stored among.
    caller: &'a str,
    status: u16,
    now: chrono::NaiveDateTime,
}

/// A reply whose closing writes are in a batch not yet run (`Closing::append`).
pub struct Pending(Reply);

/// A reply whose closing writes ran: the only way for an effect to end.
pub struct Closed(Reply);

impl Closing<'_> {
    /// Appends the closing writes for `done` to `last`, which must then run.
    pub fn append<T: Serialize>(
        &self,
        done: Effect<T>,
        last: &mut Batch<'static>,
    ) -> Result<Pending, ServiceError> {
        let body = serde_json::to_string(&done.body)?;
        events::append(done.events, self.now, last);
        last.push(db::audit::record(audit_row(self.ctx, done.target, "ok", self.now)).boxed());
        if let Some(idem) = &self.ctx.idempotency {
            let answer = IdempotencyRow {
                caller: self.caller.to_owned(),
                idem_key: idem.key.clone(),
                fingerprint: idem.fingerprint.clone(),
                status_code: i32::from(self.status),
                response_body: body.clone(),
                created_at: self.now,
            };
            last.push(db::idempotency::store(answer).boxed());
        }
        Ok(Pending(Reply {
            status: self.status,
            body,
            replayed: false,
        }))
    }

    /// `changed`: the rows the batch's last write changed, one (the stored answer, or the
    /// audit event).
    pub fn confirm(&self, changed: usize, pending: Pending) -> Result<Closed, ServiceError> {
        if changed != 1 {
            return Err(ServiceError::internal(format!(
                "the closing write changed {changed} rows instead of one"
            )));
        }
        Ok(Closed(pending.0))
    }

    /// Runs `last` with the closing writes for `done`.
    pub fn send<T: Serialize>(
        &self,
        conn: &mut DbConnection,
        done: Effect<T>,
        mut last: Batch<'static>,
    ) -> Result<Closed, ServiceError> {
        let pending = self.append(done, &mut last)?;
        self.confirm(db::cached::execute_batch(last, conn)?, pending)
    }
}

fn replay(stored: IdempotencyRow, idem: &IdempotencyRequest) -> Result<Reply, ServiceError> {
    if stored.fingerprint != idem.fingerprint {
        return Err(ServiceError::IdempotencyKeyReused);
    }
    // A stored status that is not one is a broken row, not replayed as some other status.
    let status = u16::try_from(stored.status_code)
        .ok()
        .filter(|s| (100..600).contains(s))
        .ok_or_else(|| {
            ServiceError::internal(format!(
                "idempotency key {:?}: stored status {} is not an HTTP status",
                stored.idem_key, stored.status_code
            ))
        })?;
    Ok(Reply {
        status,
        body: stored.response_body,
        replayed: true,
    })
}

pub(super) fn audit_row(
    ctx: &WriteCtx,
    target: Option<String>,
    outcome: &str,
    at: chrono::NaiveDateTime,
) -> AuditRow {
    AuditRow {
        id: db::new_id(),
        at,
        actor_sub: ctx.actor.sub.clone(),
        actor_role: ctx.actor.role,
        action: ctx.action.to_owned(),
        target,
        outcome: outcome.to_owned(),
        request_id: ctx.request_id.clone(),
    }
}

/// Forgets idempotency keys older than `retention_hours`; returns how many.
pub async fn purge_expired_keys(db: &Db, retention_hours: u32) -> Result<usize, ServiceError> {
    let cutoff = time::now() - chrono::Duration::hours(i64::from(retention_hours));
    db.run(move |conn| {
        tx::write(conn, |conn| {
            Ok(db::idempotency::purge_before(conn, cutoff)?)
        })
    })
    .await
}
