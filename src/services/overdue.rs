//! The overdue sweep: obligations found past due are announced (`obligation.overdue`) once
//! per due date, by a guarded update that several processes may race safely.

use super::events;
use super::obligations::{event, view};
use super::ServiceError;
use crate::db::{self, tx, Db};
use crate::domain::event::EventType;
use crate::domain::time;

/// Obligations announced per transaction.
const BATCH: i64 = 100;

/// Announces every obligation past due not yet announced; returns how many this call did.
pub async fn sweep(db: &Db) -> Result<usize, ServiceError> {
    let mut total = 0;
    loop {
        let (found, announced) = db
            .run(|conn| {
                tx::write(conn, |conn| {
                    let now = time::now();
                    let today = now.date();
                    let due = db::obligations::unannounced_overdue(conn, today, BATCH)?;
                    let found = due.len();
                    let scales = super::Scales::load(conn)?;
                    let mut out = Vec::new();
                    for o in due {
                        if db::obligations::announce_overdue(conn, &o.id, o.due_date)? {
                            let s = scales.of(&o.material_code)?;
                            out.push(event(EventType::ObligationOverdue, &view(o, s, today))?);
                        }
                    }
                    let announced = out.len();
                    events::write(conn, out, now)?;
                    Ok::<_, ServiceError>((found, announced))
                })
            })
            .await?;
        total += announced;
        if i64::try_from(found).unwrap_or(0) < BATCH {
            return Ok(total);
        }
    }
}
