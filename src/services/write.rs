//! Every accepted write goes through `write`: one transaction that claims the idempotency
//! key (or replays the answer stored under it), applies the effect, records the audit
//! event, and stores the response for replay.

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

/// What a command did: the response body and the object it touched (for the audit trail).
pub struct Effect<T> {
    pub target: Option<String>,
    pub body: T,
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
    write_batched(db, ctx, status, move |conn| {
        Ok((effect(conn)?, Batch::new()))
    })
    .await
}

/// `write` for an effect that leaves its last writes to be sent with the audit event and
/// the stored answer, in one round trip on PostgreSQL (`db::cached::Batch`).
pub async fn write_batched<T, F>(
    db: &Db,
    ctx: WriteCtx,
    status: u16,
    mut effect: F,
) -> Result<Reply, ServiceError>
where
    T: Serialize,
    F: FnMut(&mut DbConnection) -> Result<(Effect<T>, Batch<'static>), ServiceError>
        + Send
        + 'static,
{
    db.run(move |conn| {
        tx::write(conn, |conn| {
            let now = time::now();
            let caller = ctx.actor.scope();
            if let Some(idem) = &ctx.idempotency {
                // Claim the key before the effect, so that a concurrent request with the same
                // key waits for this one and then replays its answer (or runs, if this one
                // was refused and rolled back).
                let claim = IdempotencyRow {
                    caller: caller.clone(),
                    idem_key: idem.key.clone(),
                    fingerprint: idem.fingerprint.clone(),
                    status_code: 0,
                    response_body: String::new(),
                    created_at: now,
                };
                if !db::idempotency::claim(conn, &claim)? {
                    let stored =
                        db::idempotency::find(conn, &caller, &idem.key)?.ok_or_else(|| {
                            ServiceError::Transient("the stored idempotency key was purged".into())
                        })?;
                    return replay(stored, idem);
                }
            }
            let (done, mut last) = effect(conn)?;
            let body = serde_json::to_string(&done.body)?;
            last.push(db::audit::record(audit_row(&ctx, done.target, "ok", now)).boxed());
            if let Some(idem) = &ctx.idempotency {
                let answer = db::idempotency::complete(
                    caller.clone(),
                    idem.key.clone(),
                    i32::from(status),
                    body.clone(),
                );
                last.push(answer.boxed());
                if db::cached::execute_batch(last, conn)? != 1 {
                    return Err(ServiceError::Internal(
                        "claimed idempotency key vanished".into(),
                    ));
                }
            } else {
                db::cached::execute_batch(last, conn)?;
            }
            Ok(Reply {
                status,
                body,
                replayed: false,
            })
        })
    })
    .await
}

fn replay(stored: IdempotencyRow, idem: &IdempotencyRequest) -> Result<Reply, ServiceError> {
    if stored.fingerprint != idem.fingerprint {
        return Err(ServiceError::IdempotencyKeyReused);
    }
    Ok(Reply {
        status: u16::try_from(stored.status_code).unwrap_or(200),
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
        actor_role: ctx.actor.role.as_str().to_owned(),
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
