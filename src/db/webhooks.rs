//! Queries of `webhook_endpoints` and `webhook_deliveries`.

use super::cached::Statement;
use super::events::EventRow;
use super::schema::{allocations, events, webhook_deliveries, webhook_endpoints};
use super::DbConnection;
use crate::domain::event::{Audience, EventType, ALL_TYPES};
use crate::domain::webhook::{DeliveryStatus, EndpointStatus};
use chrono::NaiveDateTime;
use diesel::prelude::*;
use std::collections::{BTreeMap, BTreeSet, HashMap};

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

#[derive(Debug, Clone, Queryable, Selectable)]
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

/// The insert of a pending delivery of event `event_id` (of type `kind`, written at `now`)
/// to every enabled endpoint subscribed to its type whose owner may see it, for a `Batch`:
/// staff endpoints (no owner) see every event; a manufacturer's sees its own, and those of
/// materials it holds an allocation of. One `INSERT … SELECT`, so that a write reads no
/// endpoint list of its own and sees the endpoints as its statement does.
pub fn record_deliveries(
    event_id: &str,
    kind: EventType,
    audience: &Audience,
    now: NaiveDateTime,
) -> Box<dyn Statement + 'static> {
    use diesel::sql_types::{Integer, Nullable, Text, Timestamp};
    use webhook_deliveries as d;
    use webhook_endpoints as e;
    // The stored subscription is `*` or comma-separated types (`Subscription::names`); the
    // type is matched whole, between commas, with LIKE's wildcards (`_`) escaped.
    let listed = format!("%,{},%", kind.as_str().replace('_', "\\_"));
    let subscribed = e::events.eq(ALL_TYPES).or(","
        .into_sql::<Text>()
        .concat(e::events)
        .concat(",")
        .like(listed)
        .escape('\\'));
    let candidates = e::table
        .filter(e::status.eq(EndpointStatus::Enabled.as_str()))
        .filter(subscribed);
    let row = (
        event_id.to_owned().into_sql::<Text>(),
        e::id,
        DeliveryStatus::Pending.as_str().into_sql::<Text>(),
        0.into_sql::<Integer>(),
        Some(now).into_sql::<Nullable<Timestamp>>(),
        now.into_sql::<Timestamp>(),
    );
    let columns = (
        d::event_id,
        d::endpoint_id,
        d::status,
        d::attempt,
        d::next_attempt_at,
        d::event_created_at,
    );
    // One statement per audience, differing only in which owners see the event.
    macro_rules! deliveries_to {
        ($owner_sees:expr) => {
            super::cached(
                diesel::insert_into(d::table)
                    .values(
                        candidates
                            .filter(e::manufacturer_id.is_null().or($owner_sees))
                            .select(row),
                    )
                    .into_columns(columns),
            )
            .boxed()
        };
    }
    match audience {
        Audience::Manufacturer(m) => deliveries_to!(e::manufacturer_id.eq(m.clone())),
        Audience::Holders(materials) => deliveries_to!(e::manufacturer_id.eq_any(
            allocations::table
                .filter(allocations::material_code.eq_any(materials.clone()))
                .select(allocations::manufacturer_id.nullable()),
        )),
    }
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
#[diesel::dsl::auto_type]
fn enabled_ids() -> _ {
    let enabled: &'static str = EndpointStatus::Enabled.as_str();
    webhook_endpoints::table
        .filter(webhook_endpoints::status.eq(enabled))
        .select(webhook_endpoints::id)
}

/// The deliveries due at `now`: pending, to an enabled endpoint, their next attempt's time
/// come, and not leased to an attempt in flight.
#[diesel::dsl::auto_type(no_type_alias)]
fn due(now: NaiveDateTime) -> _ {
    let enabled: enabled_ids = enabled_ids();
    let pending: &'static str = DeliveryStatus::Pending.as_str();
    webhook_deliveries::status
        .eq(pending)
        .and(webhook_deliveries::next_attempt_at.le(now))
        .and(webhook_deliveries::endpoint_id.eq_any(enabled))
        .and(
            webhook_deliveries::leased_until
                .is_null()
                .or(webhook_deliveries::leased_until.le(now)),
        )
}

/// Claims up to `limit` pending deliveries due at `now`: counts their attempt and leases them
/// until `lease_until`, so that no other worker takes them while this one sends, and that
/// they are sent again if this one never records an outcome. PostgreSQL skips the rows other workers are claiming; SQLite's writers are
/// serialized. A few statements whatever the number claimed: the keys, one update per
/// endpoint, then the events and endpoints they name. For a write transaction.
pub fn claim(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    lease_until: NaiveDateTime,
    limit: i64,
) -> QueryResult<Vec<Claimed>> {
    use webhook_deliveries as d;
    let due = d::table
        .filter(due(now))
        .order(d::next_attempt_at.asc())
        .limit(limit)
        .select((d::event_id, d::endpoint_id, d::attempt));
    let keys: Vec<(String, String, i32)> = match conn {
        DbConnection::Pg(c) => due.for_update().skip_locked().load(c),
        DbConnection::Sqlite(c) => due.load(c),
    }?;
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    let mut by_endpoint: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (event, endpoint, _) in &keys {
        by_endpoint.entry(endpoint).or_default().push(event);
    }
    for (endpoint, claimed) in &by_endpoint {
        diesel::update(
            d::table
                .filter(d::endpoint_id.eq(*endpoint))
                .filter(d::event_id.eq_any(claimed)),
        )
        .set((
            d::attempt.eq(d::attempt + 1),
            d::leased_until.eq(lease_until),
        ))
        .execute(conn)?;
    }
    let event_ids: BTreeSet<&str> = keys.iter().map(|(e, _, _)| e.as_str()).collect();
    let events: HashMap<String, EventRow> = events::table
        .filter(events::id.eq_any(&event_ids))
        .select(EventRow::as_select())
        .load(conn)?
        .into_iter()
        .map(|e| (e.id.clone(), e))
        .collect();
    let endpoints: HashMap<String, EndpointRow> = webhook_endpoints::table
        .filter(webhook_endpoints::id.eq_any(by_endpoint.keys()))
        .select(EndpointRow::as_select())
        .load(conn)?
        .into_iter()
        .map(|e| (e.id.clone(), e))
        .collect();
    keys.into_iter()
        .map(|(event_id, endpoint_id, attempt)| {
            // Both are referenced by the delivery's foreign keys, and neither is deleted.
            let (Some(event), Some(endpoint)) =
                (events.get(&event_id), endpoints.get(&endpoint_id))
            else {
                return Err(diesel::result::Error::NotFound);
            };
            Ok(Claimed {
                event_id,
                endpoint_id,
                attempt: attempt + 1,
                event_type: event.event_type,
                event_created_at: event.created_at,
                data: event.data.clone(),
                url: endpoint.url.clone(),
                secret: endpoint.secret.clone(),
                previous_secret: endpoint.previous_secret.clone(),
                previous_secret_until: endpoint.previous_secret_until,
            })
        })
        .collect()
}

/// The outcome of an attempt.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Outcome {
    pub status: DeliveryStatus,
    pub response_status: Option<i32>,
    pub next_attempt_at: Option<NaiveDateTime>,
}

/// An attempt that has ended, to record.
#[derive(Debug, Clone)]
pub struct Attempted {
    pub event_id: String,
    pub endpoint_id: String,
    pub attempt: i32,
    pub outcome: Outcome,
}

/// Records the outcomes of `attempts` at `now` (a delivery's `delivered_at`), each unless
/// another attempt of its delivery has begun since (its lease ran out): one update per
/// endpoint, attempt number and outcome, so that a round of successes is one statement.
/// Returns how many were recorded.
///
/// The attempt number is the whole guard: only a claim changes it, and a claim takes pending
/// deliveries only. The rows are found by primary key alone: a filter on `status = 'pending'`
/// would let the planner walk the due index instead, every dead entry of it, whenever the
/// statistics were taken with the queue empty.
pub fn record_outcomes(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    attempts: &[Attempted],
) -> QueryResult<usize> {
    use webhook_deliveries as d;
    let mut groups: HashMap<(&str, i32, &Outcome), Vec<&str>> = HashMap::new();
    for a in attempts {
        groups
            .entry((&a.endpoint_id, a.attempt, &a.outcome))
            .or_default()
            .push(&a.event_id);
    }
    let mut recorded = 0;
    for ((endpoint, attempt, o), event_ids) in groups {
        recorded += diesel::update(
            d::table
                .filter(d::endpoint_id.eq(endpoint))
                .filter(d::event_id.eq_any(event_ids))
                .filter(d::attempt.eq(attempt)),
        )
        .set((
            d::status.eq(o.status.as_str()),
            d::response_status.eq(o.response_status),
            d::next_attempt_at.eq(o.next_attempt_at),
            d::delivered_at.eq((o.status == DeliveryStatus::Delivered).then_some(now)),
            d::leased_until.eq(None::<NaiveDateTime>),
        ))
        .execute(conn)?;
    }
    Ok(recorded)
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

/// Whether any delivery is due at `now` (a read, before claiming in a write).
pub fn any_due(conn: &mut DbConnection, now: NaiveDateTime) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        webhook_deliveries::table.filter(due(now)),
    ))
    .get_result(conn)
}
