//! Queries of `disruptions` and the materials they cover.

use super::cached::Statement;
use super::schema::{disruption_materials, disruptions};
use super::DbConnection;
use crate::domain::code::Code;
use crate::domain::policy::Severity;
use crate::domain::status::DisruptionStatus;
use diesel::prelude::*;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = disruptions)]
pub struct DisruptionRow {
    pub id: String,
    pub title: String,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub severity: Severity,
    pub reason: String,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub status: DisruptionStatus,
    pub proposed_by: String,
    pub confirmed_by: Option<String>,
    pub ended_by: Option<String>,
    pub created_at: chrono::NaiveDateTime,
    pub activated_at: Option<chrono::NaiveDateTime>,
    pub ended_at: Option<chrono::NaiveDateTime>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = disruption_materials)]
pub struct CoveredRow {
    pub disruption_id: String,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub material_code: Code,
    /// True while the disruption is active (see the migration).
    pub open: bool,
    pub on_hand_at_activation: Option<i64>,
    pub released: i64,
    pub held: i64,
}

pub fn insert(
    conn: &mut DbConnection,
    row: &DisruptionRow,
    covered: &[CoveredRow],
) -> QueryResult<()> {
    diesel::insert_into(disruptions::table)
        .values(row.clone())
        .execute(conn)?;
    super::on_backend!(conn, |c| diesel::insert_into(disruption_materials::table)
        .values(covered.to_vec())
        .execute(c))?;
    Ok(())
}

pub fn find(conn: &mut DbConnection, id: &str) -> QueryResult<Option<DisruptionRow>> {
    disruptions::table
        .find(id)
        .select(DisruptionRow::as_select())
        .first(conn)
        .optional()
}

pub fn covered(conn: &mut DbConnection, id: &str) -> QueryResult<Vec<CoveredRow>> {
    covered_by(conn, &[id.to_owned()])
}

/// The covered materials of several disruptions, by disruption then material code.
pub fn covered_by(conn: &mut DbConnection, ids: &[String]) -> QueryResult<Vec<CoveredRow>> {
    disruption_materials::table
        .filter(disruption_materials::disruption_id.eq_any(ids))
        .select(CoveredRow::as_select())
        .order((
            disruption_materials::disruption_id.asc(),
            disruption_materials::material_code.asc(),
        ))
        .load(conn)
}

/// Moves a disruption from one of `from` to `to`, setting who and when; returns whether it
/// was in `from` (the row lock also serializes concurrent transitions).
pub fn transition(
    conn: &mut DbConnection,
    id: &str,
    from: &[DisruptionStatus],
    to: DisruptionStatus,
    by: &str,
    at: chrono::NaiveDateTime,
) -> QueryResult<bool> {
    let from: Vec<&str> = from.iter().map(|s| s.as_str()).collect();
    let target = disruptions::table
        .find(id)
        .filter(disruptions::status.eq_any(from));
    let n = match to {
        DisruptionStatus::Active => diesel::update(target)
            .set((
                disruptions::status.eq(to.as_str()),
                disruptions::confirmed_by.eq(by),
                disruptions::activated_at.eq(at),
            ))
            .execute(conn)?,
        _ => diesel::update(target)
            .set((
                disruptions::status.eq(to.as_str()),
                disruptions::ended_by.eq(by),
                disruptions::ended_at.eq(at),
            ))
            .execute(conn)?,
    };
    Ok(n == 1)
}

/// Opens a covered material for drawdowns, recording its stock at activation.
pub fn open_material(
    conn: &mut DbConnection,
    id: &str,
    material: &str,
    on_hand: i64,
) -> QueryResult<()> {
    diesel::update(disruption_materials::table.find((id, material)))
        .set((
            disruption_materials::open.eq(true),
            disruption_materials::on_hand_at_activation.eq(on_hand),
        ))
        .execute(conn)
        .map(drop)
}

/// Closes a covered material to new holds and takes `released_held` (what the drawdowns
/// expiring with it held) off its held figure.
pub fn close_material(
    conn: &mut DbConnection,
    id: &str,
    material: &str,
    released_held: i64,
) -> QueryResult<bool> {
    diesel::update(disruption_materials::table.find((id, material)))
        .set((
            disruption_materials::open.eq(false),
            disruption_materials::held.eq(disruption_materials::held - released_held),
        ))
        .execute(conn)
        .map(|n| n == 1)
}

/// Takes the covered material's row lock if the disruption is still active for it; returns
/// whether it is. Held until the transaction ends, so the disruption cannot end meanwhile
/// (ending closes this row).
pub fn lock_open(conn: &mut DbConnection, id: &str, material: &str) -> QueryResult<bool> {
    super::cached(
        diesel::update(
            disruption_materials::table
                .find((id, material))
                .filter(disruption_materials::open.eq(true)),
        )
        .set(disruption_materials::held.eq(disruption_materials::held)),
    )
    .execute(conn)
    .map(|n| n == 1)
}

/// Sets the time a disruption ended (once ending holds every lock it needs).
pub fn set_ended_at(
    conn: &mut DbConnection,
    id: &str,
    at: chrono::NaiveDateTime,
) -> QueryResult<()> {
    diesel::update(disruptions::table.find(id))
        .set(disruptions::ended_at.eq(at))
        .execute(conn)
        .map(drop)
}

/// Active disruptions covering `material`, with their figures for it.
pub fn active_covering(
    conn: &mut DbConnection,
    material: &str,
) -> QueryResult<Vec<(DisruptionRow, CoveredRow)>> {
    disruptions::table
        .inner_join(disruption_materials::table)
        .filter(disruptions::status.eq(DisruptionStatus::Active.as_str()))
        .filter(disruption_materials::material_code.eq(material))
        .select((DisruptionRow::as_select(), CoveredRow::as_select()))
        .order(disruptions::activated_at.asc())
        .load(conn)
}

/// Adds `q` to what is held under the disruption while it is open and held + released + q
/// <= cap (rule 5), compared as `held + released <= cap - q` (held + released never passes
/// the cap, so neither side leaves a BIGINT); without a cap, while held + q fits.
pub fn hold<'a>(
    id: &'a str,
    material: &'a str,
    q: i64,
    cap: Option<i64>,
) -> Box<dyn Statement + 'a> {
    let target = disruption_materials::table
        .find((id, material))
        .filter(disruption_materials::open.eq(true));
    let held = disruption_materials::held.eq(disruption_materials::held + q);
    match cap {
        Some(cap) => {
            super::cached(
                diesel::update(target.filter(
                    (disruption_materials::held + disruption_materials::released).le(cap - q),
                ))
                .set(held),
            )
            .boxed()
        }
        None => super::cached(
            diesel::update(target.filter(disruption_materials::held.le(i64::MAX - q))).set(held),
        )
        .boxed(),
    }
}

/// Changes held and released under the disruption by the given amounts, while released
/// stays within a BIGINT (it only grows, and without a cap nothing else bounds it).
pub fn shift(
    conn: &mut DbConnection,
    id: &str,
    material: &str,
    held: i64,
    released: i64,
) -> QueryResult<bool> {
    let Some((lo, hi)) = super::room_for(released, 0) else {
        return Ok(false);
    };
    super::cached(
        diesel::update(
            disruption_materials::table
                .find((id, material))
                .filter(disruption_materials::released.between(lo, hi)),
        )
        .set((
            disruption_materials::held.eq(disruption_materials::held + held),
            disruption_materials::released.eq(disruption_materials::released + released),
        )),
    )
    .execute(conn)
    .map(|n| n == 1)
}

pub fn page(
    conn: &mut DbConnection,
    status: Option<DisruptionStatus>,
    after: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<DisruptionRow>> {
    let mut q = disruptions::table
        .select(DisruptionRow::as_select())
        .order(disruptions::id.asc())
        .limit(limit)
        .into_boxed();
    if let Some(s) = status {
        q = q.filter(disruptions::status.eq(s.as_str()));
    }
    if let Some(after) = after {
        q = q.filter(disruptions::id.gt(after.to_owned()));
    }
    q.load(conn)
}
