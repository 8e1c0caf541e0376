//! The delivery worker: one tokio task per process that claims due deliveries in short
//! transactions (a lease: the attempt is counted and the delivery leased past its
//! timeout), sends them with the Standard Webhooks headers outside any transaction, and
//! records the outcome. A process that dies between sending and recording leaves the lease to
//! run out: the delivery is sent again, with the same `webhook-id`.

use super::events::EventView;
use super::webhooks::{check_destination, signing_key, PublicResolver, Refused};
use super::ServiceError;
use crate::api::metrics::Metrics;
use crate::config::WebhookSettings;
use crate::db::events::EventRow;
use crate::db::webhooks::{Attempted, Claimed, Outcome};
use crate::db::{self, tx, Db};
use crate::domain::time;
use crate::domain::webhook::{self, DeliveryStatus, EndpointStatus, RetrySchedule};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{watch, Notify};
use tokio::task::JoinSet;
use tokio::time::Instant;

/// An attempt's lease, before another worker may send the delivery again: a timeout for
/// resolving the host, one for the send, and one more (at least 5 s) to record what the
/// attempt met, so that a slow record never lets a second worker send at the same moment.
fn lease(timeout_secs: u64) -> chrono::Duration {
    let secs = timeout_secs.saturating_mul(2) + timeout_secs.max(5);
    chrono::Duration::seconds(i64::try_from(secs).unwrap_or(i64::MAX / 2))
}
/// How often the queue's depth and age are measured.
const BACKLOG_EVERY: Duration = Duration::from_secs(5);
/// The shortest time between two rounds with the database while there is work: under load, a
/// round then records and claims the deliveries of this long at once, and its statements
/// cost each delivery a share instead of a round trip each; a delivery waits at most this
/// much longer.
const ROUND_EVERY: Duration = Duration::from_millis(20);

/// Runs the worker until `stop` turns true: then it claims nothing more and waits for the
/// attempts in flight (each bounded by the timeout).
///
/// It keeps up to `concurrency` attempts in flight, and goes back to the database in rounds,
/// at most one per `ROUND_EVERY`: one transaction records the attempts that ended since the
/// last round and claims as many due deliveries as there are free slots, so that the cost
/// of a round is shared by its deliveries rather than paid by each. When a round claims
/// nothing, the worker looks again after `poll_interval_ms`, or as soon as `written` rings
/// (a write of this process committed, with deliveries perhaps), or an attempt ends.
pub async fn run(
    db: Db,
    written: Arc<Notify>,
    settings: WebhookSettings,
    metrics: Arc<Metrics>,
    mut stop: watch::Receiver<bool>,
) {
    let settings = Arc::new(settings);
    let client = match reqwest::Client::builder()
        .dns_resolver(Arc::new(PublicResolver(settings.clone())))
        .timeout(Duration::from_secs(settings.timeout_secs))
        .connect_timeout(Duration::from_secs(settings.timeout_secs))
        .redirect(reqwest::redirect::Policy::none())
        .user_agent("stockpile-webhooks")
        .build()
    {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "webhook client could not be built: no deliveries");
            return;
        }
    };
    let schedule = Arc::new(settings.retry_schedule());
    let poll = Duration::from_millis(settings.poll_interval_ms);
    let mut in_flight = JoinSet::new();
    let mut ended: Vec<Attempted> = Vec::new();
    let mut measured = Instant::now() - BACKLOG_EVERY;
    let mut next_round = Instant::now();
    // When a worker that found nothing due looks again.
    let mut next_poll = Instant::now();
    // Whether the last round claimed any: then the next one claims without asking first.
    let mut busy = false;
    while !*stop.borrow() {
        if measured.elapsed() >= BACKLOG_EVERY {
            measured = Instant::now();
            measure(&db, &metrics).await;
        }
        let free = settings.concurrency.saturating_sub(in_flight.len());
        let now = Instant::now();
        let wanted = !ended.is_empty() || (free > 0 && (busy || now >= next_poll));
        if wanted && now >= next_round {
            next_round = now + ROUND_EVERY;
            let claimed = exchange(&db, &settings, std::mem::take(&mut ended), free, busy).await;
            busy = !claimed.is_empty();
            if !busy {
                next_poll = Instant::now() + poll;
            }
            for c in claimed {
                let (client, settings, schedule, metrics) = (
                    client.clone(),
                    settings.clone(),
                    schedule.clone(),
                    metrics.clone(),
                );
                in_flight.spawn(async move {
                    let (outcome, label) = attempt(&client, &settings, &schedule, &c).await;
                    metrics.delivery(label);
                    Attempted {
                        event_id: c.event_id,
                        endpoint_id: c.endpoint_id,
                        attempt: c.attempt,
                        outcome,
                    }
                });
            }
        }
        // Attempts that ended, or slots to fill while deliveries are due: the next round.
        // Otherwise the next poll, unless every slot is busy (then an attempt's end).
        let free = settings.concurrency.saturating_sub(in_flight.len());
        let soon = !ended.is_empty() || (free > 0 && busy);
        let wake = if soon {
            next_round
        } else {
            next_poll.max(next_round)
        };
        // Waiting for the next poll, a write brings it forward (at most once a round: many
        // writes, one wake).
        let polling = !soon && free > 0 && next_poll > Instant::now();
        tokio::select! {
            _ = stop.changed() => {}
            _ = written.notified(), if polling => next_poll = Instant::now(),
            _ = tokio::time::sleep_until(wake), if soon || free > 0 => {}
            Some(done) = in_flight.join_next(), if !in_flight.is_empty() => {
                ended.extend(done.ok());
                while let Some(done) = in_flight.try_join_next() {
                    ended.extend(done.ok());
                }
            }
        }
    }
    let n = in_flight.len();
    while let Some(done) = in_flight.join_next().await {
        ended.extend(done.ok());
    }
    exchange(&db, &settings, ended, 0, false).await;
    tracing::info!(
        attempts = n,
        "webhook worker stopped: attempts in flight finished"
    );
}

async fn measure(db: &Db, metrics: &Metrics) {
    match db
        .run(|conn| Ok::<_, ServiceError>(db::webhooks::backlog(conn)?))
        .await
    {
        Ok((pending, oldest)) => {
            let age = oldest.map_or(0.0, |t| {
                (time::now() - t).num_milliseconds() as f64 / 1000.0
            });
            metrics.delivery_backlog(pending, age.max(0.0));
        }
        Err(e) => tracing::warn!(error = %e, "measuring the webhook queue failed"),
    }
}

/// One round with the database (`round`). If claiming fails, the outcomes are recorded
/// again alone, so that a delivery that cannot be claimed keeps no other's outcome from
/// being recorded; if that fails too, the ended attempts' leases run out and they are sent
/// again: at least once.
async fn exchange(
    db: &Db,
    settings: &WebhookSettings,
    ended: Vec<Attempted>,
    free: usize,
    busy: bool,
) -> Vec<Claimed> {
    if ended.is_empty() && free == 0 {
        return Vec::new();
    }
    match round(db, settings, ended.clone(), free, busy).await {
        Ok(claimed) => claimed,
        Err(e) if free > 0 && !ended.is_empty() => {
            tracing::warn!(error = %e, "webhook round failed: recording the ended attempts alone");
            exchange_failed(round(db, settings, ended, 0, false).await)
        }
        Err(e) => exchange_failed(Err(e)),
    }
}

fn exchange_failed(recorded: Result<Vec<Claimed>, ServiceError>) -> Vec<Claimed> {
    if let Err(e) = recorded {
        tracing::warn!(error = %e, "webhook round failed: ended attempts will be sent again");
    }
    Vec::new()
}

/// One transaction: records the outcomes of the `ended` attempts (a 410 also disables its
/// endpoint), then claims up to `free` due deliveries (unless `busy`, it first reads whether
/// any is due, so that an idle worker polls without taking a write lock).
async fn round(
    db: &Db,
    settings: &WebhookSettings,
    ended: Vec<Attempted>,
    free: usize,
    busy: bool,
) -> Result<Vec<Claimed>, ServiceError> {
    let lease = lease(settings.timeout_secs);
    let limit = i64::try_from(free).unwrap_or(i64::MAX);
    db.run(move |conn| {
        let now = time::now();
        let due = free > 0 && (busy || db::webhooks::any_due(conn, now)?);
        if ended.is_empty() && !due {
            return Ok(Vec::new());
        }
        tx::write(conn, |conn| {
            let recorded = db::webhooks::record_outcomes(conn, now, &ended)?;
            if recorded < ended.len() {
                tracing::info!(
                    attempts = ended.len() - recorded,
                    "later attempts of these deliveries have begun: outcomes not recorded"
                );
            }
            for gone in ended.iter().filter(|a| a.outcome.response_status == Some(410)) {
                db::webhooks::set_status(conn, &gone.endpoint_id, EndpointStatus::Disabled)?;
                tracing::warn!(endpoint = %gone.endpoint_id, "webhook endpoint answered 410: disabled");
            }
            if !due {
                return Ok(Vec::new());
            }
            Ok::<_, ServiceError>(db::webhooks::claim(conn, now, now + lease, limit)?)
        })
    })
    .await
}

/// One attempt: the outcome to record and its metric label.
async fn attempt(
    client: &reqwest::Client,
    settings: &WebhookSettings,
    schedule: &RetrySchedule,
    c: &Claimed,
) -> (Outcome, &'static str) {
    let retry = |response_status: Option<i32>| {
        let next = schedule.next_attempt(
            u32::try_from(c.attempt).unwrap_or(1),
            c.event_created_at,
            time::now(),
        );
        let outcome = Outcome {
            status: if next.is_some() {
                DeliveryStatus::Pending
            } else {
                DeliveryStatus::Failed
            },
            response_status,
            next_attempt_at: next,
        };
        let label = if next.is_some() { "retry" } else { "failed" };
        (outcome, label)
    };
    // Checked again at every delivery (the host name by the client's resolver, as it
    // connects): what it names may have changed.
    let skipped = |why: &dyn std::fmt::Display| {
        tracing::warn!(endpoint = %c.endpoint_id, reason = %why, "webhook destination skipped");
        (retry(None).0, "skipped")
    };
    let url = match check_destination(&c.url, settings) {
        Ok(url) => url,
        Err(why) => return skipped(&why),
    };
    let body = match body(c) {
        Ok(b) => b,
        Err(e) => {
            tracing::error!(error = %e, event = %c.event_id, "event unreadable");
            return retry(None);
        }
    };
    let now = time::now();
    let timestamp = now.and_utc().timestamp();
    // A secret that does not open (its key no longer listed) skips the attempt: never unsigned.
    let previous = (c.previous_secret.as_deref())
        .filter(|_| c.previous_secret_until.is_some_and(|until| until > now));
    let keys = match std::iter::once(c.secret.as_str())
        .chain(previous)
        .map(|stored| signing_key(&settings.secret_keys, stored, &c.endpoint_id))
        .collect::<Result<Vec<_>, _>>()
    {
        Ok(keys) => keys,
        Err(why) => return skipped(&why),
    };
    let sent = client
        .post(url)
        .header("content-type", "application/json")
        .header("webhook-id", &c.event_id)
        .header("webhook-timestamp", timestamp.to_string())
        .header(
            "webhook-signature",
            webhook::signature_header(&keys, &c.event_id, timestamp, &body),
        )
        .body(body)
        .send()
        .await;
    match sent {
        // The answer's body is never read.
        Ok(r) if r.status().is_success() => (
            Outcome {
                status: DeliveryStatus::Delivered,
                response_status: Some(i32::from(r.status().as_u16())),
                next_attempt_at: None,
            },
            "delivered",
        ),
        Ok(r) if r.status() == reqwest::StatusCode::GONE => (
            Outcome {
                status: DeliveryStatus::Failed,
                response_status: Some(410),
                next_attempt_at: None,
            },
            "disabled",
        ),
        Ok(r) => retry(Some(i32::from(r.status().as_u16()))),
        Err(e) => {
            let mut cause: Option<&dyn std::error::Error> = Some(&e);
            while let Some(err) = cause {
                if let Some(refused) = err.downcast_ref::<Refused>() {
                    return skipped(refused);
                }
                cause = err.source();
            }
            tracing::debug!(error = %e, endpoint = %c.endpoint_id, "webhook attempt failed");
            retry(None)
        }
    }
}

/// The body of a delivery: the event as the feed lists it.
fn body(c: &Claimed) -> Result<String, ServiceError> {
    let view = EventView::new(EventRow {
        id: c.event_id.clone(),
        event_type: c.event_type,
        created_at: c.event_created_at,
        manufacturer_id: None,
        data: c.data.clone(),
    })?;
    Ok(serde_json::to_string(&view)?)
}

/// Runs the overdue sweep every `interval` until `stop` turns true.
pub async fn sweep_every(db: Db, interval: Duration, mut stop: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(interval);
    while !*stop.borrow() {
        tokio::select! {
            _ = stop.changed() => continue,
            _ = tick.tick() => {}
        }
        match super::overdue::sweep(&db).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(announced = n, "overdue obligations announced"),
            Err(e) => tracing::warn!(error = %e, "overdue sweep failed"),
        }
    }
}
