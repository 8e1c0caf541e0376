//! The posting engine: journal entries of postings that sum to zero per asset, the balances
//! they add up to, holds, and the hash chain that links every entry to the one before.

pub mod accounts;
pub mod chain;
pub mod export;
pub mod holds;
pub mod lots;
pub mod read;
pub mod verify;

use crate::db::ledger::{self as q, EntryRow, PostingRow};
use crate::db::{self, DbConnection};
use crate::domain::decimal::format_fixed;
use crate::domain::time;
use crate::domain::values::IsoDate;
use chain::{entry_hash, ChainEntry, ChainPosting};
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use std::collections::BTreeMap;

/// One leg of an entry: `amount` minor units (of `10^-scale`) of `asset` on `account`;
/// positive adds to the account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Posting {
    pub account: String,
    pub asset: String,
    pub scale: u32,
    pub amount: i64,
}

impl Posting {
    /// `cents` of US dollars on `account`.
    pub fn usd(account: impl Into<String>, cents: i64) -> Self {
        Posting {
            account: account.into(),
            asset: accounts::USD.to_owned(),
            scale: accounts::USD_SCALE,
            amount: cents,
        }
    }
}

/// The date an entry's business event takes effect (API.md, "Effective dates in the
/// ledger"); it is stored, hashed and exported with the entry, and places its postings in
/// the balances on the effective basis.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effective {
    /// The UTC date of the entry's `recorded_at` (an event that takes effect when booked).
    Recorded,
    /// A date the event names: a lot's `received_at` date, a value date, an accrual's
    /// `through` minus one day.
    On(IsoDate),
}

#[derive(Debug, Clone)]
pub struct NewEntry {
    /// What happened, e.g. `lot_received`, `transfer`, `adjustment`, `release`.
    pub kind: &'static str,
    /// The id of the business object the entry records.
    pub reference: Option<String>,
    pub effective: Effective,
    pub postings: Vec<Posting>,
}

/// What an append wrote.
#[derive(Debug, Clone)]
pub struct Appended {
    pub seq: i64,
    pub id: String,
    pub hash: String,
}

#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    #[error("an entry needs at least one non-zero posting")]
    Empty,
    #[error("posting amounts overflow")]
    Overflow,
    #[error("postings of {asset} sum to {sum}, not zero")]
    Unbalanced { asset: String, sum: i128 },
    /// A non-negative account (stock on hand) would go below zero.
    #[error("{account} holds {balance}, cannot take {wanted}")]
    Overdrawn {
        account: String,
        asset: String,
        balance: i64,
        wanted: i64,
        scale: u32,
    },
    /// Less stock than asked for: of the material (`facility` None) or at one facility.
    #[error("{requested} requested, {available} available")]
    Short {
        material: String,
        facility: Option<String>,
        requested: i64,
        available: i64,
        scale: u32,
    },
    /// The balance of `account` would pass what storage holds.
    #[error("the balance of {account} in {asset} would pass the largest figure stored")]
    TooLarge {
        account: String,
        asset: String,
        scale: u32,
    },
    #[error("no material {0}")]
    UnknownMaterial(String),
    #[error("hold {0} is not pending")]
    HoldNotPending(String),
    /// Another transaction created the same balance row first: run again.
    #[error("balance row created concurrently")]
    Race,
    #[error(transparent)]
    Db(#[from] DieselError),
}

/// Merges postings to the same (account, asset), drops zeros, sorts by account then asset
/// (the order they are hashed and exported in), and checks each asset sums to zero.
pub fn normalize(postings: Vec<Posting>) -> Result<Vec<Posting>, LedgerError> {
    let mut merged: BTreeMap<(String, String), Posting> = BTreeMap::new();
    for p in postings {
        let key = (p.account.clone(), p.asset.clone());
        match merged.get_mut(&key) {
            Some(m) => {
                m.amount = m
                    .amount
                    .checked_add(p.amount)
                    .ok_or(LedgerError::Overflow)?
            }
            None => {
                merged.insert(key, p);
            }
        }
    }
    let out: Vec<Posting> = merged.into_values().filter(|p| p.amount != 0).collect();
    if out.is_empty() {
        return Err(LedgerError::Empty);
    }
    let mut sums: BTreeMap<&str, i128> = BTreeMap::new();
    for p in &out {
        *sums.entry(p.asset.as_str()).or_default() += i128::from(p.amount);
    }
    if let Some((asset, sum)) = sums.into_iter().find(|(_, s)| *s != 0) {
        return Err(LedgerError::Unbalanced {
            asset: asset.to_owned(),
            sum,
        });
    }
    Ok(out)
}

/// Appends an entry inside the caller's write transaction: balances first (in account
/// order, so concurrent appends lock them in one order), then the chain head (the global
/// lock, taken last so that it is held for little more than the commit), then the balances
/// by effective date (under the head, since an entry effective when recorded knows its date
/// only there; the head serializes them) and the rows.
pub fn append(conn: &mut DbConnection, entry: NewEntry) -> Result<Appended, LedgerError> {
    let mut appended = append_all(conn, vec![entry])?;
    appended.pop().ok_or(LedgerError::Empty)
}

/// Appends several entries, in order, as `append` does one: the balances of all their
/// postings first, in account order, then each entry under the chain head, so that the head
/// is still the last lock the transaction takes.
pub fn append_all(
    conn: &mut DbConnection,
    entries: Vec<NewEntry>,
) -> Result<Vec<Appended>, LedgerError> {
    let entries = entries
        .into_iter()
        .map(|mut e| {
            let postings = normalize(std::mem::take(&mut e.postings))?;
            Ok((e, postings))
        })
        .collect::<Result<Vec<_>, LedgerError>>()?;
    let mut every: Vec<&Posting> = entries.iter().flat_map(|(_, p)| p).collect();
    every.sort_by(|a, b| (&a.account, &a.asset).cmp(&(&b.account, &b.asset)));
    for p in every {
        apply_to_balance(conn, p)?;
    }
    entries
        .into_iter()
        .map(|(entry, postings)| chain(conn, entry, postings))
        .collect()
}

/// Writes an entry whose postings are in the balances already: under the chain head, its
/// balances by effective date and its rows.
fn chain(
    conn: &mut DbConnection,
    entry: NewEntry,
    postings: Vec<Posting>,
) -> Result<Appended, LedgerError> {
    let (seq, prev_hash, last_recorded) = q::advance_head(conn)?;
    // Taken under the lock, and never before the previous entry's, so that recorded_at
    // never decreases along the chain even when processes' clocks differ.
    let recorded_at = last_recorded.map_or_else(time::now, |last| time::now().max(last));
    let effective_date = match entry.effective {
        Effective::Recorded => recorded_at.date(),
        Effective::On(d) => d.0,
    };
    for p in &postings {
        apply_to_day(conn, p, effective_date)?;
    }
    let effective_text = time::format_date(&effective_date);
    let id = db::new_id();
    let chain_postings: Vec<ChainPosting> = postings
        .iter()
        .map(|p| ChainPosting {
            account: p.account.clone(),
            asset: p.asset.clone(),
            amount: format_fixed(p.amount, p.scale),
        })
        .collect();
    let hash = entry_hash(
        &prev_hash,
        &ChainEntry {
            seq,
            id: &id,
            effective_date: Some(&effective_text),
            kind: entry.kind,
            recorded_at: &time::format_rfc3339(&recorded_at),
            reference: entry.reference.as_deref(),
            postings: &chain_postings,
        },
    );
    q::set_head(conn, &hash, recorded_at)?;
    let rows: Vec<PostingRow> = postings
        .into_iter()
        .enumerate()
        .map(|(i, p)| PostingRow {
            entry_seq: seq,
            idx: i32::try_from(i).unwrap_or(i32::MAX),
            account: p.account,
            asset: p.asset,
            amount: p.amount,
        })
        .collect();
    let row = EntryRow {
        seq,
        id: id.clone(),
        kind: entry.kind.to_owned(),
        reference: entry.reference,
        recorded_at,
        prev_hash,
        hash: hash.clone(),
        effective_date: Some(effective_date),
    };
    q::insert_entry(conn, &row, &rows)?;
    Ok(Appended { seq, id, hash })
}

fn apply_to_balance(conn: &mut DbConnection, p: &Posting) -> Result<(), LedgerError> {
    let floor = accounts::must_stay_non_negative(&p.account).then_some(0);
    if q::add_to_balance(conn, &p.account, &p.asset, p.amount, floor)? {
        return Ok(());
    }
    let current = q::balance(conn, &p.account, &p.asset)?;
    if current.is_some_and(|b| b.checked_add(p.amount).is_none()) {
        return Err(LedgerError::TooLarge {
            account: p.account.clone(),
            asset: p.asset.clone(),
            scale: p.scale,
        });
    }
    let overdrawn = |balance| LedgerError::Overdrawn {
        account: p.account.clone(),
        asset: p.asset.clone(),
        balance,
        wanted: -p.amount,
        scale: p.scale,
    };
    match current {
        Some(balance) => Err(overdrawn(balance)),
        None if floor.is_some() && p.amount < 0 => Err(overdrawn(0)),
        None => q::insert_balance(conn, &p.account, &p.asset, p.amount).map_err(|e| match e {
            DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _) => LedgerError::Race,
            other => other.into(),
        }),
    }
}

/// Adds a posting to its account's figure on its effective day.
fn apply_to_day(
    conn: &mut DbConnection,
    p: &Posting,
    day: chrono::NaiveDate,
) -> Result<(), LedgerError> {
    if q::add_to_day(conn, &p.account, &p.asset, day, p.amount)? {
        return Ok(());
    }
    if q::day_amount(conn, &p.account, &p.asset, day)?.is_some() {
        return Err(LedgerError::TooLarge {
            account: p.account.clone(),
            asset: p.asset.clone(),
            scale: p.scale,
        });
    }
    q::insert_day(conn, &p.account, &p.asset, day, p.amount).map_err(|e| match e {
        DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _) => LedgerError::Race,
        other => other.into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(account: &str, asset: &str, amount: i64) -> Posting {
        Posting {
            account: account.into(),
            asset: asset.into(),
            scale: 3,
            amount,
        }
    }

    #[test]
    fn normalize_sorts_merges_and_checks_sums() {
        let out = normalize(vec![
            p("supplier:GA", "GA", -5),
            p("inventory:NV1:GA", "GA", 2),
            p("inventory:NV1:GA", "GA", 3),
            p("x", "USD", 0),
        ])
        .unwrap();
        assert_eq!(
            out,
            vec![p("inventory:NV1:GA", "GA", 5), p("supplier:GA", "GA", -5)]
        );
        assert!(matches!(
            normalize(vec![p("a", "GA", 5), p("b", "GA", -4)]),
            Err(LedgerError::Unbalanced { sum: 1, .. })
        ));
        assert!(matches!(
            normalize(vec![p("a", "GA", 5), p("b", "USD", -5)]),
            Err(LedgerError::Unbalanced { .. })
        ));
        assert!(matches!(
            normalize(vec![p("a", "GA", 0)]),
            Err(LedgerError::Empty)
        ));
    }
}
