//! Queries of `webhook_endpoints` and `webhook_deliveries`.

use super::cached::{Cached, Statement};
use super::schema::{events, webhook_deliveries, webhook_endpoints};
use super::DbConnection;
use crate::domain::event::EventType;
use crate::domain::webhook::{DeliveryStatus, EndpointStatus};
use chrono::NaiveDateTime;
use diesel::prelude::*;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = webhook_endpoints)]
pub struct EndpointRow {
    pub id: String,
    pub manufacturer_id: Option<String>,
    pub created_by: String,
    pub url: String,
    /// Comma-separated types, or `*`.
    pub events: String,
    pub description: Option<String>,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub status: EndpointStatus,
    pub secret: String,
    pub previous_secret: Option<String>,
    pub previous_secret_until: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = webhook_deliveries)]
pub struct DeliveryRow {
    pub event_id: String,
    pub endpoint_id: String,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub status: DeliveryStatus,
    pub attempt: i32,
    pub next_attempt_at: Option<NaiveDateTime>,
    pub response_status: Option<i32>,
    pub delivered_at: Option<NaiveDateTime>,
    pub event_created_at: NaiveDateTime,
}

pub fn insert(conn: &mut DbConnection, row: EndpointRow) -> QueryResult<()> {
    diesel::insert_into(webhook_endpoints::table)
        .values(row)
        .execute(conn)
        .map(drop)
}

pub fn find(conn: &mut DbConnection, id: &str) -> QueryResult<Option<EndpointRow>> {
    webhook_endpoints::table
        .find(id)
        .select(EndpointRow::as_select())
        .first(conn)
        .optional()
}

/// One page of endpoints in id order, those of `manufacturer` only when given.
pub fn page(
    conn: &mut DbConnection,
    manufacturer: Option<&str>,
    after: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<EndpointRow>> {
    let mut q = webhook_endpoints::table
        .select(EndpointRow::as_select())
        .order(webhook_endpoints::id.asc())
        .limit(limit)
        .into_boxed();
    if let Some(m) = manufacturer {
        q = q.filter(webhook_endpoints::manufacturer_id.eq(m.to_owned()));
    }
    if let Some(after) = after {
        q = q.filter(webhook_endpoints::id.gt(after.to_owned()));
    }
    q.load(conn)
}

/// The enabled endpoints: who an event may be delivered to.
pub fn enabled(conn: &mut DbConnection) -> QueryResult<Vec<(String, Option<String>, String)>> {
    webhook_endpoints::table
        .filter(webhook_endpoints::status.eq(EndpointStatus::Enabled.as_str()))
        .select((
            webhook_endpoints::id,
            webhook_endpoints::manufacturer_id,
            webhook_endpoints::events,
        ))
        .load(conn)
}

/// Moves an endpoint to `to`; returns whether it was in another status.
pub fn set_status(conn: &mut DbConnection, id: &str, to: EndpointStatus) -> QueryResult<bool> {
    diesel::update(
        webhook_endpoints::table
            .find(id)
            .filter(webhook_endpoints::status.ne(to.as_str())),
    )
    .set(webhook_endpoints::status.eq(to.as_str()))
    .execute(conn)
    .map(|n| n == 1)
}

/// Replaces the secret, keeping the current one as the previous until `until`.
pub fn rotate(
    conn: &mut DbConnection,
    id: &str,
    current: &str,
    secret: &str,
    until: NaiveDateTime,
) -> QueryResult<bool> {
    diesel::update(
        webhook_endpoints::table
            .find(id)
            .filter(webhook_endpoints::secret.eq(current)),
    )
    .set((
        webhook_endpoints::secret.eq(secret),
        webhook_endpoints::previous_secret.eq(current),
        webhook_endpoints::previous_secret_until.eq(until),
    ))
    .execute(conn)
    .map(|n| n == 1)
}

/// Replaces an endpoint's stored secret (`previous`: its previous secret) with `to`, the same
/// secret sealed again, if it still is `from`; returns whether it was.
pub fn reseal(
    conn: &mut DbConnection,
    id: &str,
    previous: bool,
    from: &str,
    to: &str,
) -> QueryResult<bool> {
    use webhook_endpoints as e;
    let n = if previous {
        diesel::update(e::table.find(id).filter(e::previous_secret.eq(from)))
            .set(e::previous_secret.eq(to))
            .execute(conn)?
    } else {
        diesel::update(e::table.find(id).filter(e::secret.eq(from)))
            .set(e::secret.eq(to))
            .execute(conn)?
    };
    Ok(n == 1)
}

/// The insert of a delivery, for a `Batch`.
pub fn record_delivery(row: DeliveryRow) -> Cached<impl Statement> {
    super::cached(diesel::insert_into(webhook_deliveries::table).values(row))
}

/// One page of an endpoint's deliveries in event order, each with its event's type.
pub fn deliveries(
    conn: &mut DbConnection,
    endpoint: &str,
    after: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<(DeliveryRow, String)>> {
    let mut q = webhook_deliveries::table
        .inner_join(events::table)
        .filter(webhook_deliveries::endpoint_id.eq(endpoint.to_owned()))
        .select((DeliveryRow::as_select(), events::event_type))
        .order(webhook_deliveries::event_id.asc())
        .limit(limit)
        .into_boxed();
    if let Some(after) = after {
        q = q.filter(webhook_deliveries::event_id.gt(after.to_owned()));
    }
    q.load(conn)
}

/// A delivery a worker has claimed: its attempt number, and what to send where.
#[derive(Debug, Clone)]
pub struct Claimed {
    pub event_id: String,
    pub endpoint_id: String,
    pub attempt: i32,
    pub event_type: EventType,
    pub event_created_at: NaiveDateTime,
    pub data: String,
    pub url: String,
    pub secret: String,
    pub previous_secret: Option<String>,
    pub previous_secret_until: Option<NaiveDateTime>,
}

/// The enabled endpoints' ids: only their pending deliveries are due, claimed and counted in
/// the queue (a disabled endpoint's wait, uncounted, until it is enabled again).
fn enabled_ids() -> diesel::dsl::Select<
    diesel::dsl::Filter<
        webhook_endpoints::table,
        diesel::dsl::Eq<webhook_endpoints::status, &'static str>,
    >,
    webhook_endpoints::id,
> {
    webhook_endpoints::table
        .filter(webhook_endpoints::status.eq(EndpointStatus::Enabled.as_str()))
        .select(webhook_endpoints::id)
}

/// Claims up to `limit` pending deliveries due at `now` to enabled endpoints: counts their
/// attempt and moves their next attempt to `lease_until`, so that no other worker takes
/// them while this one sends, and that they are sent again if this one never records an
/// outcome. PostgreSQL skips the rows other workers are claiming; SQLite's writers are
/// serialized. For a write transaction.
pub fn claim(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    lease_until: NaiveDateTime,
    limit: i64,
) -> QueryResult<Vec<Claimed>> {
    use webhook_deliveries as d;
    let due = d::table
        .filter(d::status.eq(DeliveryStatus::Pending.as_str()))
        .filter(d::next_attempt_at.le(now))
        .filter(d::endpoint_id.eq_any(enabled_ids()))
        .order(d::next_attempt_at.asc())
        .limit(limit)
        .select((d::event_id, d::endpoint_id, d::attempt));
    let keys: Vec<(String, String, i32)> = match conn {
        DbConnection::Pg(c) => due.for_update().skip_locked().load(c),
        DbConnection::Sqlite(c) => due.load(c),
    }?;
    let mut claimed = Vec::with_capacity(keys.len());
    for (event_id, endpoint_id, attempt) in keys {
        diesel::update(d::table.find((&event_id, &endpoint_id)))
            .set((
                d::attempt.eq(attempt + 1),
                d::next_attempt_at.eq(lease_until),
            ))
            .execute(conn)?;
        let (event_type, event_created_at, data): (String, NaiveDateTime, String) = events::table
            .find(&event_id)
            .select((events::event_type, events::created_at, events::data))
            .first(conn)?;
        let endpoint = find(conn, &endpoint_id)?.ok_or(diesel::result::Error::NotFound)?;
        let event_type = EventType::try_from(event_type)
            .map_err(|e| diesel::result::Error::DeserializationError(Box::new(e)))?;
        claimed.push(Claimed {
            event_id,
            endpoint_id,
            attempt: attempt + 1,
            event_type,
            event_created_at,
            data,
            url: endpoint.url,
            secret: endpoint.secret,
            previous_secret: endpoint.previous_secret,
            previous_secret_until: endpoint.previous_secret_until,
        });
    }
    Ok(claimed)
}

/// The outcome of an attempt.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub status: DeliveryStatus,
    pub response_status: Option<i32>,
    pub next_attempt_at: Option<NaiveDateTime>,
    pub delivered_at: Option<NaiveDateTime>,
}

/// Records the outcome of attempt `attempt` of a delivery, unless another attempt has begun
/// since (its lease ran out); returns whether it was recorded.
pub fn record_outcome(
    conn: &mut DbConnection,
    event_id: &str,
    endpoint_id: &str,
    attempt: i32,
    o: &Outcome,
) -> QueryResult<bool> {
    use webhook_deliveries as d;
    diesel::update(
        d::table
            .find((event_id, endpoint_id))
            .filter(d::attempt.eq(attempt))
            .filter(d::status.eq(DeliveryStatus::Pending.as_str())),
    )
    .set((
        d::status.eq(o.status.as_str()),
        d::response_status.eq(o.response_status),
        d::next_attempt_at.eq(o.next_attempt_at),
        d::delivered_at.eq(o.delivered_at),
    ))
    .execute(conn)
    .map(|n| n == 1)
}

/// Pending deliveries, and the time of the oldest one's event (queue depth and age).
pub fn backlog(conn: &mut DbConnection) -> QueryResult<(i64, Option<NaiveDateTime>)> {
    use webhook_deliveries as d;
    let pending = d::table
        .filter(d::status.eq(DeliveryStatus::Pending.as_str()))
        .filter(d::endpoint_id.eq_any(enabled_ids()));
    let count = pending.count().get_result(conn)?;
    let oldest = pending
        .select(diesel::dsl::min(d::event_created_at))
        .get_result(conn)?;
    Ok((count, oldest))
}

/// Whether any pending delivery is due at `now` (a read, before claiming in a write).
pub fn any_due(conn: &mut DbConnection, now: NaiveDateTime) -> QueryResult<bool> {
    use webhook_deliveries as d;
    diesel::select(diesel::dsl::exists(
        d::table
            .filter(d::status.eq(DeliveryStatus::Pending.as_str()))
            .filter(d::next_attempt_at.le(now))
            .filter(d::endpoint_id.eq_any(enabled_ids())),
    ))
    .get_result(conn)
}
