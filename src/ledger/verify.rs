//! Verification of the whole journal: gapless seq, every link, every hash, zero sums per
//! asset, and the chain head agreeing with the last entry.

use super::chain::{entry_hash, ChainEntry, GENESIS_HASH};
use super::read::{for_each, EntryView, Range, Scales, PAGE};
use crate::db::ledger as q;
use crate::db::DbConnection;
use crate::domain::formats;
use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct VerifyReport {
    pub ok: bool,
    /// Entries that verified.
    pub entries: i64,
    /// Hash of the last entry (when ok).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<formats::Hash>)]
    pub head_hash: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 1)]
    pub first_bad_seq: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// Why one entry fails, if it does.
fn check(
    expected_seq: i64,
    prev_hash: &str,
    e: &EntryView,
    raw: &[(String, i64)],
    scales: &Scales,
) -> Option<String> {
    if e.seq != expected_seq {
        return Some(format!(
            "seq {expected_seq} is missing (next stored is {})",
            e.seq
        ));
    }
    if e.prev_hash != prev_hash {
        return Some("prev_hash does not match the previous entry's hash".into());
    }
    if e.postings.is_empty() {
        return Some("the entry has no postings".into());
    }
    let mut sums: BTreeMap<&str, i128> = BTreeMap::new();
    for (asset, amount) in raw {
        if scales.of(asset).is_none() {
            return Some(format!("posting in unknown asset {asset}"));
        }
        *sums.entry(asset.as_str()).or_default() += i128::from(*amount);
    }
    if let Some((asset, _)) = sums.iter().find(|(_, s)| **s != 0) {
        return Some(format!("postings of {asset} do not sum to zero"));
    }
    let postings = e.chain_postings();
    let recomputed = entry_hash(
        prev_hash,
        &ChainEntry {
            seq: e.seq,
            id: &e.id,
            kind: &e.kind,
            recorded_at: &e.recorded_at,
            reference: e.reference.as_deref(),
            postings: &postings,
        },
    );
    (recomputed != e.hash).then(|| "the entry or its postings no longer match its hash".into())
}

/// Verifies the journal as `conn` sees it (run it in a snapshot). `progress` is called with
/// the number of entries verified so far.
pub fn verify(
    conn: &mut DbConnection,
    progress: &mut dyn FnMut(i64),
) -> diesel::QueryResult<VerifyReport> {
    let scales = Scales::load(conn)?;
    let (head_seq, head_hash) = q::head(conn)?;
    let mut prev = GENESIS_HASH.to_owned();
    let mut count = 0i64;
    let mut bad: Option<(i64, String)> = None;
    for_each(conn, Range::default(), PAGE, |row, postings| {
        let raw: Vec<(String, i64)> = postings
            .iter()
            .map(|p| (p.asset.clone(), p.amount))
            .collect();
        let view = EntryView::new(row, postings, &scales);
        if let Some(reason) = check(count + 1, &prev, &view, &raw, &scales) {
            bad = Some((count + 1, reason));
            return Ok::<_, diesel::result::Error>(false);
        }
        prev = view.hash;
        count += 1;
        if count % PAGE == 0 {
            progress(count);
        }
        Ok(true)
    })?;
    progress(count);
    if bad.is_none() && (head_seq != count || (count > 0 && head_hash != prev)) {
        bad = Some((
            count + 1,
            format!("the chain head says {head_seq} entries, {count} are stored and linked"),
        ));
    }
    Ok(match bad {
        None => VerifyReport {
            ok: true,
            entries: count,
            head_hash: Some(prev),
            first_bad_seq: None,
            reason: None,
        },
        Some((seq, reason)) => VerifyReport {
            ok: false,
            entries: count,
            head_hash: None,
            first_bad_seq: Some(seq),
            reason: Some(reason),
        },
    })
}
