//! The outbox and the event feed. A write's events are written by its closing writes
//! (`Closing`), in its transaction: each event, and a pending delivery to every enabled
//! endpoint subscribed to its type whose owner may see it.

use super::{fetch_limit, scope_to_caller, Page, PageRequest, ServiceError};
use crate::db::cached::Batch;
use crate::db::events::{EventFilter, EventMaterialRow, EventRow};
use crate::db::{self, tx, Db, DbConnection};
use crate::domain::actor::Actor;
use crate::domain::event::{Audience, EventType, Subscription};
use crate::domain::values::{Id, Timestamp};
use serde::Serialize;
use serde_json::value::RawValue;

/// An event a write reports, not yet written.
#[derive(Debug, Clone)]
pub struct Event {
    kind: EventType,
    audience: Audience,
    data: String,
}

impl Event {
    /// An event about an object of `manufacturer`, whose view (as its GET returns it) is `view`.
    pub fn owned<T: Serialize>(
        kind: EventType,
        manufacturer: &str,
        view: &T,
    ) -> Result<Self, ServiceError> {
        Ok(Self {
            kind,
            audience: Audience::Manufacturer(manufacturer.to_owned()),
            data: serde_json::to_string(view)?,
        })
    }

    /// An event about an object concerning `materials`, seen by every manufacturer with an
    /// allocation of one of them.
    pub fn of_materials<T: Serialize>(
        kind: EventType,
        materials: Vec<String>,
        view: &T,
    ) -> Result<Self, ServiceError> {
        Ok(Self {
            kind,
            audience: Audience::Holders(materials),
            data: serde_json::to_string(view)?,
        })
    }
}

/// Appends the writes of `events`, at `now`, to `batch`: the events, their materials and
/// their deliveries.
pub(crate) fn append(events: Vec<Event>, now: chrono::NaiveDateTime, batch: &mut Batch<'static>) {
    for e in events {
        let id = db::new_id();
        batch.push(
            db::events::record(EventRow {
                id: id.clone(),
                event_type: e.kind,
                created_at: now,
                manufacturer_id: match &e.audience {
                    Audience::Manufacturer(m) => Some(m.clone()),
                    Audience::Holders(_) => None,
                },
                data: e.data,
            })
            .boxed(),
        );
        if let Audience::Holders(materials) = &e.audience {
            for code in materials {
                batch.push(
                    db::events::record_material(EventMaterialRow {
                        event_id: id.clone(),
                        material_code: code.clone(),
                    })
                    .boxed(),
                );
            }
        }
        batch.push(db::webhooks::record_deliveries(
            &id,
            e.kind,
            &e.audience,
            now,
        ));
    }
}

/// Writes `events` at once, outside a command (the overdue sweep); in the caller's
/// transaction.
pub(crate) fn write(
    conn: &mut DbConnection,
    events: Vec<Event>,
    now: chrono::NaiveDateTime,
) -> Result<(), ServiceError> {
    let mut batch = Batch::new();
    append(events, now, &mut batch);
    if !batch.is_empty() {
        db::cached::execute_batch(batch, conn)?;
    }
    Ok(())
}

/// A stored subscription (`*` or comma-separated types).
pub(crate) fn subscription(stored: &str) -> Result<Subscription, ServiceError> {
    let names: Vec<String> = stored.split(',').map(str::to_owned).collect();
    Subscription::parse(&names)
        .map_err(|e| ServiceError::internal(format!("stored subscription {stored:?}: {e}")))
}

/// An event as the feed lists it and a webhook delivers it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct EventView {
    pub id: Id,
    #[serde(rename = "type")]
    pub event_type: EventType,
    pub created_at: Timestamp,
    /// The object as its GET returned it when the event was written.
    #[schema(value_type = Object)]
    pub data: Box<RawValue>,
}

impl EventView {
    pub fn new(row: EventRow) -> Result<Self, ServiceError> {
        Ok(Self {
            data: RawValue::from_string(row.data)?,
            id: row.id.into(),
            event_type: row.event_type,
            created_at: Timestamp(row.created_at),
        })
    }
}

/// The events `actor` may see, in the order they committed, after the event `page.after`.
pub async fn list(
    db: &Db,
    actor: Actor,
    event_type: Option<EventType>,
    page: PageRequest,
) -> Result<Page<EventView>, ServiceError> {
    let mut visible_to = None;
    scope_to_caller(&actor, &mut visible_to);
    db.run(move |conn| {
        // Number what has committed since the last page, so that this one includes every
        // write acknowledged before the request.
        if db::events::unsequenced(conn)? {
            tx::write(conn, |conn| {
                Ok::<_, ServiceError>(db::events::sequence(conn)?)
            })?;
        }
        // The cursor is the id of the last event seen; the page starts after its position.
        let after = match &page.after {
            Some(id) => Some(
                db::events::position_of(conn, id, visible_to.as_deref())?
                    .ok_or_else(|| super::not_found("event", id))?,
            ),
            None => None,
        };
        let filter = EventFilter {
            visible_to,
            event_type,
            after,
        };
        let rows = db::events::page(conn, &filter, fetch_limit(&page))?;
        Page::try_from_rows(
            rows,
            page.limit,
            |(_, r)| r.id.clone(),
            |(_, r)| EventView::new(r),
        )
    })
    .await
}
