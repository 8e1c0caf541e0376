//! Holds: two-phase reservations of a material's stock, like pending transfers. A hold is
//! placed (raising `held`, so `available` falls), then posted — all or part of it released
//! from the oldest lots to an account, in one journal entry — or voided.

use super::lots::{take_oldest, Pick};
use super::{accounts, append, Appended, Effective, LedgerError, NewEntry, Posting};
use crate::db::cached;
use crate::db::holds::{self as hq, HoldRow};
use crate::db::materials::{self as mq, MaterialRow};
use crate::db::{self, DbConnection};
use crate::domain::code::Code;
use crate::domain::status::HoldStatus;
use crate::domain::time;
use std::collections::BTreeMap;

fn material(conn: &mut DbConnection, code: &str) -> Result<MaterialRow, LedgerError> {
    mq::find_by_code(conn, code)?.ok_or_else(|| LedgerError::UnknownMaterial(code.to_owned()))
}

/// Reserves `quantity` of `material` if `available - quantity >= min_available_after`
/// (0, or the strategic floor), and records the hold; returns its id. (A drawdown raises
/// `held` together with its other guarded writes, `db::holding`, and records its hold with
/// itself.)
pub fn place(
    conn: &mut DbConnection,
    material_code: &Code,
    quantity: i64,
    min_available_after: i64,
    reference: Option<String>,
) -> Result<String, LedgerError> {
    if cached::execute(
        &*mq::hold(material_code, quantity, min_available_after),
        conn,
    )? != 1
    {
        let m = material(conn, material_code)?;
        return Err(LedgerError::Short {
            material: m.code.into(),
            facility: None,
            requested: quantity,
            available: m.on_hand - m.held,
            scale: m.scale.get(),
        });
    }
    let hold = new_pending(material_code, quantity, reference);
    let id = hold.id.clone();
    hq::record(hold).execute(conn)?;
    Ok(id)
}

/// The row of a new pending hold, whose quantity is already counted in the material's
/// `held`.
pub fn new_pending(material_code: &Code, quantity: i64, reference: Option<String>) -> HoldRow {
    HoldRow {
        id: db::new_id(),
        material_code: material_code.clone(),
        quantity,
        status: HoldStatus::Pending,
        reference,
        created_at: time::now(),
        closed_at: None,
        posted_quantity: None,
    }
}

fn pending(conn: &mut DbConnection, hold_id: &str) -> Result<HoldRow, LedgerError> {
    hq::find(conn, hold_id)?
        .filter(|h| h.status == HoldStatus::Pending)
        .ok_or_else(|| LedgerError::HoldNotPending(hold_id.to_owned()))
}

/// Cancels a pending hold: its quantity becomes available again.
pub fn void(conn: &mut DbConnection, hold_id: &str) -> Result<(), LedgerError> {
    let hold = pending(conn, hold_id)?;
    if !hq::close(conn, hold_id, HoldStatus::Voided, None, time::now())? {
        return Err(LedgerError::HoldNotPending(hold_id.to_owned()));
    }
    if !mq::unhold(conn, &hold.material_code, hold.quantity)? {
        return Err(LedgerError::Race);
    }
    Ok(())
}

/// Lowers a pending hold to `quantity` (> 0); the difference becomes available again.
pub fn lower(conn: &mut DbConnection, hold_id: &str, quantity: i64) -> Result<(), LedgerError> {
    let hold = pending(conn, hold_id)?;
    if quantity <= 0 || quantity >= hold.quantity {
        return Ok(());
    }
    if !hq::lower(conn, hold_id, quantity)?
        || !mq::unhold(conn, &hold.material_code, hold.quantity - quantity)?
    {
        return Err(LedgerError::Race);
    }
    Ok(())
}

/// Stock taken out by posting a hold: the lots drawn and the postings that record it,
/// for the caller's journal entry.
pub struct Taken {
    pub picks: Vec<Pick>,
    pub postings: Vec<Posting>,
}

/// Takes `quantity` (at most the hold's) from the oldest lots for `to_account`; the rest of
/// the hold is released back to `available`. Writes no journal entry: the caller appends
/// `postings` last in its transaction, so that the chain's lock is held only at the end.
pub fn take(
    conn: &mut DbConnection,
    hold_id: &str,
    quantity: i64,
    to_account: &str,
) -> Result<Taken, LedgerError> {
    let hold = pending(conn, hold_id)?;
    let m = material(conn, &hold.material_code)?;
    let scale = m.scale.get();
    if quantity <= 0 || quantity > hold.quantity {
        return Err(LedgerError::Short {
            material: hold.material_code.into(),
            facility: None,
            requested: quantity,
            available: hold.quantity,
            scale,
        });
    }
    if !hq::close(
        conn,
        hold_id,
        HoldStatus::Posted,
        Some(quantity),
        time::now(),
    )? {
        return Err(LedgerError::HoldNotPending(hold_id.to_owned()));
    }
    let code = hold.material_code.as_str();
    // The whole hold leaves `held`; `quantity` of it leaves `on_hand`.
    if !mq::unhold(conn, code, hold.quantity)? || !mq::change_on_hand(conn, code, -quantity)? {
        return Err(LedgerError::Race);
    }
    let picks = take_oldest(conn, code, None, quantity, scale)?;
    let mut by_facility: BTreeMap<&str, i64> = BTreeMap::new();
    for p in &picks {
        *by_facility.entry(p.lot.facility_code.as_str()).or_default() += p.quantity;
    }
    let mut postings: Vec<Posting> = by_facility
        .into_iter()
        .map(|(facility, q)| Posting {
            account: accounts::inventory(facility, code),
            asset: code.to_owned(),
            scale,
            amount: -q,
        })
        .collect();
    postings.push(Posting {
        account: to_account.to_owned(),
        asset: code.to_owned(),
        scale,
        amount: quantity,
    });
    Ok(Taken { picks, postings })
}

/// `take`, then its journal entry of kind `kind`.
pub fn post(
    conn: &mut DbConnection,
    hold_id: &str,
    quantity: i64,
    to_account: &str,
    kind: &'static str,
    reference: Option<String>,
) -> Result<(Vec<Pick>, Appended), LedgerError> {
    let Taken { picks, postings } = take(conn, hold_id, quantity, to_account)?;
    let appended = append(
        conn,
        NewEntry {
            kind,
            reference,
            effective: Effective::Recorded,
            postings,
        },
    )?;
    Ok((picks, appended))
}
