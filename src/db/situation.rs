//! What a drawdown's release rules read, in one query: the material, the active
//! disruptions covering it and the manufacturer's standing for it.

use super::disruptions::{CoveredRow, DisruptionRow};
use super::manufacturers::{AllocationRow, ManufacturerRow};
use super::materials::MaterialRow;
use super::obligations::ObligationRow;
use super::schema::{
    allocations, disruption_materials, disruptions, manufacturers, materials, obligations,
};
use super::DbConnection;
use crate::domain::status::{DisruptionStatus, ObligationStatus};
use diesel::prelude::*;

/// What the rules need to know of a manufacturer, for one material.
pub struct Standing {
    pub manufacturer: ManufacturerRow,
    pub allocation: Option<AllocationRow>,
    /// Its open obligation with the earliest due date before `today`, if any.
    pub overdue: Option<ObligationRow>,
}

pub struct Situation {
    pub material: MaterialRow,
    /// The active disruptions covering the material, earliest activated first.
    pub covering: Vec<(DisruptionRow, CoveredRow)>,
    /// `None` for an unknown manufacturer.
    pub standing: Option<Standing>,
}

type Row = (
    MaterialRow,
    Option<CoveredRow>,
    Option<DisruptionRow>,
    Option<ManufacturerRow>,
    Option<AllocationRow>,
    Option<ObligationRow>,
);

/// The situation of `manufacturer` for `material` on `today`; `None` for an unknown
/// material.
///
/// One row per (active covering disruption, overdue obligation), or one row when there are
/// none: each is a few at most, and a manufacturer with an overdue obligation is refused.
/// A covered material is `open` exactly while its disruption is active (both change in
/// the same transactions); the join checks both.
pub fn situation(
    conn: &mut DbConnection,
    material: &str,
    manufacturer: &str,
    today: chrono::NaiveDate,
) -> QueryResult<Option<Situation>> {
    // The busiest read: on the backend's own connection, found by its type.
    let rows: Vec<Row> = super::on_backend!(conn, |c| materials::table
        .left_join(
            disruption_materials::table.on(disruption_materials::material_code
                .eq(materials::code)
                .and(disruption_materials::open.eq(true))),
        )
        .left_join(
            disruptions::table.on(disruptions::id
                .eq(disruption_materials::disruption_id)
                .and(disruptions::status.eq(DisruptionStatus::Active.as_str()))),
        )
        .left_join(
            // Owned binds: a bind in a join's ON clause may not borrow.
            manufacturers::table.on(manufacturers::id.eq(manufacturer.to_owned())),
        )
        .left_join(
            allocations::table.on(allocations::manufacturer_id
                .eq(manufacturers::id)
                .and(allocations::material_code.eq(materials::code))),
        )
        .left_join(
            obligations::table.on(obligations::manufacturer_id
                .eq(manufacturers::id)
                .and(obligations::status.eq(ObligationStatus::Open.as_str()))
                .and(obligations::due_date.lt(today))),
        )
        .filter(materials::code.eq(material))
        .select((
            MaterialRow::as_select(),
            Option::<CoveredRow>::as_select(),
            Option::<DisruptionRow>::as_select(),
            Option::<ManufacturerRow>::as_select(),
            Option::<AllocationRow>::as_select(),
            Option::<ObligationRow>::as_select(),
        ))
        // With overdue obligations none of the rows has a null one: the first row has the
        // earliest due.
        .order((obligations::due_date.asc(), obligations::id.asc()))
        .load(c))?;
    Ok(assemble(rows))
}

fn assemble(rows: Vec<Row>) -> Option<Situation> {
    let mut rows = rows.into_iter();
    let (material, covered, disruption, manufacturer, allocation, overdue) = rows.next()?;
    let mut covering: Vec<(DisruptionRow, CoveredRow)> = Vec::new();
    for (d, c) in std::iter::once((disruption, covered)).chain(rows.map(|r| (r.2, r.1))) {
        if let (Some(d), Some(c)) = (d, c) {
            if !covering.iter().any(|(seen, _)| seen.id == d.id) {
                covering.push((d, c));
            }
        }
    }
    covering.sort_by_key(|(d, _)| d.activated_at);
    Some(Situation {
        material,
        covering,
        standing: manufacturer.map(|manufacturer| Standing {
            manufacturer,
            allocation,
            overdue,
        }),
    })
}
