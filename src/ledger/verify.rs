//! Verification of the whole journal: gapless seq, every link, every hash, zero sums per
//! asset, and the chain head agreeing with the last entry; then the cached figures against
//! what they cache: each balance against the sum of its postings, each material's on-hand
//! figure against its inventory balances and its lots, its held figure against its pending
//! holds; each balance by effective day against the postings of the entries effective that
//! day.

use super::accounts;
use super::chain::{entry_hash, ChainEntry, GENESIS_HASH};
use super::read::{for_each, EntryView, Range, Scales, PAGE};
use crate::db::{self, ledger as q, DbConnection};
use crate::domain::decimal::format_fixed;
use crate::domain::formats;
use chrono::NaiveDate;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct VerifyReport {
    pub ok: bool,
    /// Entries that verified.
    pub entries: i64,
    /// Hash of the last entry (when ok).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<formats::Hash>)]
    pub head_hash: Option<String>,
    /// The first entry that fails; absent when the chain holds and a cached figure does
    /// not match it.
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
    let effective = e.effective_text();
    let recorded_at = e.recorded_at.to_string();
    let recomputed = entry_hash(
        prev_hash,
        &ChainEntry {
            seq: e.seq,
            id: &e.id.0,
            effective_date: effective.as_deref(),
            kind: &e.kind,
            recorded_at: &recorded_at,
            reference: e.reference.as_ref().map(|r| r.0.as_str()),
            postings: &postings,
        },
    );
    (recomputed != e.hash).then(|| "the entry or its postings no longer match its hash".into())
}

/// Sums in i128, so that no sum of stored i64 figures can wrap: a cache that passed the
/// BIGINT range is a mismatch to report, not an overflow.
type Sum = i128;

/// The postings' sum per account and asset, gathered as the chain is read: one entry per
/// account (not per entry), so memory grows with the accounts, not with the journal.
#[derive(Default)]
struct PostingSums(HashMap<String, HashMap<String, Sum>>);

impl PostingSums {
    fn add(&mut self, account: &str, asset: &str, amount: i64) {
        // Look up by &str first: the common case allocates nothing.
        let assets = match self.0.get_mut(account) {
            Some(a) => a,
            None => self.0.entry(account.to_owned()).or_default(),
        };
        match assets.get_mut(asset) {
            Some(sum) => *sum += Sum::from(amount),
            None => {
                assets.insert(asset.to_owned(), Sum::from(amount));
            }
        }
    }

    fn take(&mut self, account: &str, asset: &str) -> Sum {
        self.0
            .get_mut(account)
            .and_then(|a| a.remove(asset))
            .unwrap_or(0)
    }
}

/// The postings' sum per (account, asset, effective day): what `balances_by_day` caches.
/// Entries from before effective dates count on their recorded_at's date.
type DaySums = HashMap<(String, String, NaiveDate), Sum>;

/// A sum as a decimal string, or in minor units when it passed what storage holds.
fn shown(v: Sum, scale: u32) -> String {
    match i64::try_from(v) {
        Ok(v) => format_fixed(v, scale),
        Err(_) => format!("{v} minor units"),
    }
}

/// Why the cached figures disagree with the journal and the lots, if they do.
fn cached_figures(
    conn: &mut DbConnection,
    mut sums: PostingSums,
    mut days: DaySums,
    scales: &Scales,
) -> diesel::QueryResult<Option<String>> {
    let show = |asset: &str, v: Sum| shown(v, scales.of(asset).unwrap_or(0));
    let mut on_hand_by_balances: HashMap<String, Sum> = HashMap::new();
    for (account, asset, balance) in q::all_balances(conn)? {
        let posted = sums.take(&account, &asset);
        if Sum::from(balance) != posted {
            return Ok(Some(format!(
                "the balance of {account} in {asset} is {}, its postings sum to {}",
                show(&asset, balance.into()),
                show(&asset, posted)
            )));
        }
        if accounts::is_inventory(&account) {
            *on_hand_by_balances.entry(asset).or_default() += Sum::from(balance);
        }
    }
    let unbalanced = sums
        .0
        .iter()
        .flat_map(|(account, assets)| assets.iter().map(move |(asset, s)| (account, asset, s)))
        .find(|(_, _, s)| **s != 0);
    if let Some((account, asset, posted)) = unbalanced {
        return Ok(Some(format!(
            "{account} has no balance in {asset}, its postings sum to {}",
            show(asset, *posted)
        )));
    }
    let mut after = None;
    loop {
        let page = q::days_page(conn, after.as_ref(), PAGE)?;
        let Some((account, asset, day, _)) = page.last() else {
            break;
        };
        after = Some((account.clone(), asset.clone(), *day));
        for (account, asset, day, amount) in page {
            let key = (account, asset, day);
            let posted = days.remove(&key).unwrap_or(0);
            if Sum::from(amount) != posted {
                let (account, asset, day) = key;
                return Ok(Some(format!(
                    "the balance of {account} in {asset} effective {day} is {}, its postings \
                     sum to {}",
                    show(&asset, amount.into()),
                    show(&asset, posted)
                )));
            }
        }
    }
    if let Some(((account, asset, day), posted)) = days.iter().find(|(_, s)| **s != 0) {
        return Ok(Some(format!(
            "{account} has no balance in {asset} effective {day}, its postings sum to {}",
            show(asset, *posted)
        )));
    }
    let mut in_lots: HashMap<String, Sum> = HashMap::new();
    let mut after = String::new();
    loop {
        let page = db::lots::stock_page(conn, &after, PAGE)?;
        let Some((last, _, _)) = page.last() else {
            break;
        };
        after = last.clone();
        for (_, material, quantity) in page {
            *in_lots.entry(material).or_default() += Sum::from(quantity);
        }
    }
    let mut pending: HashMap<String, Sum> = HashMap::new();
    for (material, quantity) in db::holds::pending(conn)? {
        *pending.entry(material).or_default() += Sum::from(quantity);
    }
    for m in db::materials::page(conn, None, i64::MAX)? {
        let scale = m.scale.get();
        let checks = [
            (
                "on hand",
                m.on_hand,
                "its inventory balances",
                &on_hand_by_balances,
            ),
            ("on hand", m.on_hand, "its lots", &in_lots),
            ("held", m.held, "its pending holds", &pending),
        ];
        for (what, cached, source, totals) in checks {
            let total = totals.get(m.code.as_str()).copied().unwrap_or(0);
            if total != Sum::from(cached) {
                return Ok(Some(format!(
                    "material {} shows {} {what}, {source} add up to {}",
                    m.code,
                    shown(cached.into(), scale),
                    shown(total, scale)
                )));
            }
        }
    }
    Ok(None)
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
    let mut sums = PostingSums::default();
    let mut days = DaySums::new();
    for_each(conn, Range::default(), PAGE, |row, postings| {
        let day = row.effective_date.unwrap_or(row.recorded_at.date());
        for p in postings {
            *days
                .entry((p.account.clone(), p.asset.clone(), day))
                .or_default() += Sum::from(p.amount);
        }
        let raw: Vec<(String, i64)> = postings
            .iter()
            .map(|p| (p.asset.clone(), p.amount))
            .collect();
        for p in postings {
            sums.add(&p.account, &p.asset, p.amount);
        }
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
    // The caches are checked once the chain holds: a broken chain is reported first.
    let cache = match bad {
        None => cached_figures(conn, sums, days, &scales)?,
        Some(_) => None,
    };
    Ok(match (bad, cache) {
        (None, Some(reason)) => VerifyReport {
            ok: false,
            entries: count,
            head_hash: None,
            first_bad_seq: None,
            reason: Some(reason),
        },
        (None, None) => VerifyReport {
            ok: true,
            entries: count,
            head_hash: Some(prev),
            first_bad_seq: None,
            reason: None,
        },
        (Some((seq, reason)), _) => VerifyReport {
            ok: false,
            entries: count,
            head_hash: None,
            first_bad_seq: Some(seq),
            reason: Some(reason),
        },
    })
}
