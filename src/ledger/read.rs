//! Reading the journal back: entries with their postings, page by page in seq order, and
//! their exported form.

use super::accounts::{USD, USD_SCALE};
use super::chain::ChainPosting;
use crate::db::ledger::{self as q, EntryRow, PostingRow};
use crate::db::{self, DbConnection};
use crate::domain::formats;
use crate::domain::time;
use crate::domain::values::{Id, IsoDate, Quantity, Timestamp};
use chrono::NaiveDateTime;
use serde::Serialize;
use std::collections::HashMap;

pub const PAGE: i64 = 1000;

/// Scales of every asset: USD and each material.
pub struct Scales(HashMap<String, u32>);

impl Scales {
    pub fn load(conn: &mut DbConnection) -> diesel::QueryResult<Self> {
        let mut map = db::materials::scales(conn)?;
        map.insert(USD.to_owned(), USD_SCALE);
        Ok(Scales(map))
    }

    pub fn of(&self, asset: &str) -> Option<u32> {
        self.0.get(asset).copied()
    }

    /// An amount of `asset` (an unknown asset shows its raw minor units, which verification
    /// then reports).
    pub fn quantity(&self, asset: &str, amount: i64) -> Quantity {
        Quantity::new(amount, self.of(asset).unwrap_or(0))
    }
}

/// An entry as the API and the export show it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct EntryView {
    #[schema(minimum = 1)]
    pub seq: i64,
    pub id: Id,
    pub kind: String,
    pub recorded_at: Timestamp,
    /// The date the entry's event takes effect (hashed with the entry); absent on entries
    /// recorded before effective dates existed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub effective_date: Option<IsoDate>,
    /// The business object the entry records.
    pub reference: Option<Id>,
    /// Sorted by account, then asset.
    pub postings: Vec<PostingView>,
    #[schema(value_type = formats::Hash)]
    pub prev_hash: String,
    #[schema(value_type = formats::Hash)]
    pub hash: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PostingView {
    pub account: String,
    /// `USD` or a material code.
    // Kept as stored, not decoded: verification reports an asset that is neither.
    #[schema(value_type = formats::Code)]
    pub asset: String,
    /// Signed decimal string in the asset's unit.
    pub amount: Quantity,
}

impl EntryView {
    pub fn new(e: EntryRow, postings: &[PostingRow], scales: &Scales) -> Self {
        Self {
            seq: e.seq,
            id: e.id.into(),
            kind: e.kind,
            recorded_at: Timestamp(e.recorded_at),
            effective_date: e.effective_date.map(IsoDate),
            reference: e.reference.map(Id),
            postings: postings
                .iter()
                .map(|p| PostingView {
                    account: p.account.clone(),
                    asset: p.asset.clone(),
                    amount: scales.quantity(&p.asset, p.amount),
                })
                .collect(),
            prev_hash: e.prev_hash,
            hash: e.hash,
        }
    }

    /// `effective_date` as hashed.
    pub fn effective_text(&self) -> Option<String> {
        self.effective_date.map(|d| time::format_date(&d.0))
    }

    pub fn chain_postings(&self) -> Vec<ChainPosting> {
        self.postings
            .iter()
            .map(|p| ChainPosting {
                account: p.account.clone(),
                asset: p.asset.clone(),
                amount: p.amount.to_string(),
            })
            .collect()
    }
}

/// Which entries: seq after `after_seq`, recorded in [from, to).
#[derive(Debug, Clone, Copy, Default)]
pub struct Range {
    pub after_seq: i64,
    pub from: Option<NaiveDateTime>,
    pub to: Option<NaiveDateTime>,
}

/// Calls `visit` with every entry in `range` and its postings, in seq order, reading `page`
/// entries at a time (memory stays flat whatever the journal's size). Stops early when
/// `visit` returns `Ok(false)`.
pub fn for_each<E>(
    conn: &mut DbConnection,
    range: Range,
    page: i64,
    mut visit: impl FnMut(EntryRow, &[PostingRow]) -> Result<bool, E>,
) -> Result<(), E>
where
    E: From<diesel::result::Error>,
{
    let mut after = range.after_seq;
    loop {
        let entries = q::entries_page(conn, after, page, range.from, range.to)?;
        let (Some(first), Some(last)) = (entries.first(), entries.last()) else {
            return Ok(());
        };
        let postings = q::postings_between(conn, first.seq, last.seq)?;
        let full = entries.len() as i64 == page;
        after = last.seq;
        let mut rest = postings.as_slice();
        for e in entries {
            // Postings of seqs outside this page's entries (filtered by time) are skipped.
            let skip = rest.iter().take_while(|p| p.entry_seq < e.seq).count();
            rest = &rest[skip..];
            let n = rest.iter().take_while(|p| p.entry_seq == e.seq).count();
            let (mine, tail) = rest.split_at(n);
            rest = tail;
            if !visit(e, mine)? {
                return Ok(());
            }
        }
        if !full {
            return Ok(());
        }
    }
}
