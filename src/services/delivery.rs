//! The delivery worker: one tokio task per process that claims due deliveries in short
//! transactions (a lease: the attempt is counted and the next attempt moved past its
//! timeout), sends them with the Standard Webhooks headers outside any transaction, and
//! records the outcome. A process that dies between sending and recording leaves the lease to
//! run out: the delivery is sent again, with the same `webhook-id`.

use super::events::EventView;
use super::webhooks::{check_destination, signing_key, PublicResolver, Refused};
use super::ServiceError;
use crate::api::metrics::Metrics;
use crate::config::WebhookSettings;
use crate::db::events::EventRow;
use crate::db::webhooks::{Claimed, Outcome};
use crate::db::{self, tx, Db};
use crate::domain::time;
use crate::domain::webhook::{self, DeliveryStatus, EndpointStatus, RetrySchedule};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinSet;

/// An attempt's lease, before another worker may send the delivery again: a timeout for
/// resolving the host, one for the send, and one more (at least 5 s) to record what the
/// attempt met, so that a slow record never lets a second worker send at the same moment.
fn lease(timeout_secs: u64) -> chrono::Duration {
    let secs = timeout_secs.saturating_mul(2) + timeout_secs.max(5);
    chrono::Duration::seconds(i64::try_from(secs).unwrap_or(i64::MAX / 2))
}
/// How often the queue's depth and age are measured.
const BACKLOG_EVERY: Duration = Duration::from_secs(5);

/// Runs the worker until `stop` turns true: then it claims nothing more and waits for the
/// attempts in flight (each bounded by the timeout).
pub async fn run(
    db: Db,
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
    // Attempts finished and not yet recorded: recorded together, one transaction per round.
    let mut finished = Vec::new();
    let mut measured = tokio::time::Instant::now() - BACKLOG_EVERY;
    while !*stop.borrow() {
        while let Some(done) = in_flight.try_join_next() {
            finished.extend(done.ok());
        }
        record(&db, &mut finished).await;
        if measured.elapsed() >= BACKLOG_EVERY {
            measured = tokio::time::Instant::now();
            measure(&db, &metrics).await;
        }
        let free = settings.concurrency.saturating_sub(in_flight.len());
        let claimed = if free > 0 {
            claim(&db, &settings, free).await.unwrap_or_else(|e| {
                tracing::warn!(error = %e, "claiming webhook deliveries failed");
                Vec::new()
            })
        } else {
            Vec::new()
        };
        let idle = claimed.is_empty();
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
                (c, outcome)
            });
        }
        if idle || free == 0 {
            tokio::select! {
                _ = stop.changed() => {}
                _ = tokio::time::sleep(poll) => {}
                Some(done) = in_flight.join_next(), if !in_flight.is_empty() => {
                    finished.extend(done.ok());
                }
            }
        }
    }
    let n = in_flight.len();
    while let Some(done) = in_flight.join_next().await {
        finished.extend(done.ok());
    }
    record(&db, &mut finished).await;
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

async fn claim(
    db: &Db,
    settings: &WebhookSettings,
    limit: usize,
) -> Result<Vec<Claimed>, ServiceError> {
    let lease = lease(settings.timeout_secs);
    let limit = i64::try_from(limit).unwrap_or(1);
    db.run(move |conn| {
        let now = time::now();
        if !db::webhooks::any_due(conn, now)? {
            return Ok(Vec::new());
        }
        tx::write(conn, |conn| {
            Ok(db::webhooks::claim(conn, now, now + lease, limit)?)
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
            delivered_at: None,
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
                delivered_at: Some(time::now()),
            },
            "delivered",
        ),
        Ok(r) if r.status() == reqwest::StatusCode::GONE => (
            Outcome {
                status: DeliveryStatus::Failed,
                response_status: Some(410),
                next_attempt_at: None,
                delivered_at: None,
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

/// Records the outcomes of `finished` attempts in one transaction (a 410 also disables its
/// endpoint), and empties it. If that fails, the leases run out and the deliveries are sent
/// again: at least once.
async fn record(db: &Db, finished: &mut Vec<(Claimed, Outcome)>) {
    if finished.is_empty() {
        return;
    }
    let batch = std::mem::take(finished);
    let n = batch.len();
    let recorded = db
        .run(move |conn| {
            tx::write(conn, |conn| {
                for (c, outcome) in &batch {
                    if !db::webhooks::record_outcome(conn, &c.event_id, &c.endpoint_id, c.attempt, outcome)? {
                        tracing::info!(event = %c.event_id, "a later attempt of this delivery has begun");
                    }
                    if outcome.response_status == Some(410) {
                        db::webhooks::set_status(conn, &c.endpoint_id, EndpointStatus::Disabled)?;
                        tracing::warn!(endpoint = %c.endpoint_id, "webhook endpoint answered 410: disabled");
                    }
                }
                Ok::<_, ServiceError>(())
            })
        })
        .await;
    if let Err(e) = recorded {
        tracing::warn!(error = %e, attempts = n, "recording deliveries failed; they will be sent again");
    }
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
