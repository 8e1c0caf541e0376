//! Reading the books: entries, balances, verification and the streaming export.

use super::{PageRequest, ServiceError};
use crate::db::{self, tx, Db};
use crate::domain::code::Code;
use crate::domain::values::{IsoDate, Quantity, Timestamp};
use crate::ledger::export::{self, ExportError, Format};
use crate::ledger::read::{for_each, EntryView, Range, Scales};
use crate::ledger::verify::{self, VerifyReport};
use chrono::{NaiveDate, NaiveDateTime};
use serde::Serialize;
use tokio::sync::{mpsc, oneshot};

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct EntryPage {
    pub items: Vec<EntryView>,
    /// Pass as `after_seq` for the next page; null on the last one.
    pub next: Option<String>,
}

pub async fn entries(
    db: &Db,
    after_seq: i64,
    page: PageRequest,
) -> Result<EntryPage, ServiceError> {
    db.run(move |conn| {
        let scales = Scales::load(conn)?;
        let limit = i64::try_from(page.limit).unwrap_or(1000);
        let mut items = Vec::new();
        let range = Range {
            after_seq,
            ..Range::default()
        };
        // One more than the page: it only says whether a next page exists.
        for_each(conn, range, limit + 1, |e, postings| {
            items.push(EntryView::new(e, postings, &scales));
            Ok::<_, ServiceError>((items.len() as i64) <= limit)
        })?;
        let more = items.len() as i64 > limit;
        items.truncate(page.limit);
        let next = if more {
            items.last().map(|e| e.seq.to_string())
        } else {
            None
        };
        Ok(EntryPage { items, next })
    })
    .await
}

pub async fn verify(db: &Db) -> Result<VerifyReport, ServiceError> {
    db.run(|conn| {
        Ok(tx::snapshot(conn, |conn| {
            verify::verify(conn, &mut |_| {})
        })?)
    })
    .await
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct BalanceView {
    pub account: String,
    pub asset: Code,
    pub balance: Quantity,
}

/// Which balances: now, as of a time entries were recorded, or at the end of a date on the
/// effective basis.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BalancesAt {
    Now,
    Recorded(NaiveDateTime),
    Effective(NaiveDate),
}

/// Which entries count in balances as of a time or date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Basis {
    /// Entries by the time they were recorded.
    Recorded,
    /// Entries by the date they take effect.
    Effective,
}

/// What balances are as of: a time (recorded basis) or a date (effective basis).
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum AsOf {
    Time(Timestamp),
    Date(IsoDate),
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Balances {
    pub basis: Basis,
    /// The time (recorded basis; null for now) or the date (effective basis) the balances
    /// are as of.
    pub as_of: Option<AsOf>,
    pub items: Vec<BalanceView>,
}

/// Current balances (the cache), as of a past time (summed from the postings), or on the
/// effective basis (summed from the balances per effective day).
pub async fn balances(
    db: &Db,
    at: BalancesAt,
    prefix: Option<String>,
    asset: Option<String>,
) -> Result<Balances, ServiceError> {
    db.run(move |conn| {
        tx::snapshot(conn, |conn| {
            let scales = Scales::load(conn)?;
            let (prefix, asset) = (prefix.as_deref(), asset.as_deref());
            let (basis, as_of, rows) = match at {
                BalancesAt::Now => (
                    Basis::Recorded,
                    None,
                    db::ledger::balances(conn, prefix, asset)?,
                ),
                BalancesAt::Recorded(t) => (
                    Basis::Recorded,
                    Some(AsOf::Time(Timestamp(t))),
                    db::ledger::balances_as_of(conn, t, prefix, asset)?,
                ),
                BalancesAt::Effective(d) => (
                    Basis::Effective,
                    Some(AsOf::Date(IsoDate(d))),
                    db::ledger::sums_effective(conn, None, d, prefix, asset)?,
                ),
            };
            Ok(Balances {
                basis,
                as_of,
                items: rows
                    .into_iter()
                    .map(|r| {
                        Ok(BalanceView {
                            balance: scales.quantity(&r.asset, r.balance),
                            account: r.account,
                            asset: Code::try_from(r.asset)?,
                        })
                    })
                    .collect::<Result<_, ServiceError>>()?,
            })
        })
    })
    .await
}

/// Chunks of an export in flight; bounds the memory an export can take.
const CHANNEL_CHUNKS: usize = 4;

/// Starts an export on a blocking thread, inside one snapshot. Returns once the snapshot is
/// open (or with the error that prevented it), then chunks arrive on the receiver; an
/// `Err` chunk means the export broke off.
pub async fn export(
    db: &Db,
    format: Format,
    range: Range,
) -> Result<mpsc::Receiver<Result<String, String>>, ServiceError> {
    let (chunks, rx) = mpsc::channel(CHANNEL_CHUNKS);
    let (started, ready) = oneshot::channel();
    let db = db.clone();
    let span = tracing::Span::current();
    tokio::task::spawn_blocking(move || {
        let _guard = span.enter();
        let mut conn = match db.get() {
            Ok(c) => c,
            Err(e) => {
                let _ = started.send(Err(ServiceError::from(e)));
                return;
            }
        };
        let mut started = Some(started);
        let result = tx::snapshot(&mut conn, |conn| {
            if let Some(s) = started.take() {
                let _ = s.send(Ok(()));
            }
            let mut sink = |chunk: String| {
                chunks.blocking_send(Ok(chunk)).map_err(|_| {
                    std::io::Error::new(std::io::ErrorKind::BrokenPipe, "client went away")
                })
            };
            export::write(conn, format, range, &mut sink, &mut |_| {})
        });
        match result {
            Ok(n) => tracing::info!(entries = n, "export finished"),
            Err(ExportError::Sink(e)) => {
                tracing::info!(error = %e, "export abandoned by the client")
            }
            Err(e) => {
                tracing::error!(error = %e, "export failed");
                if let Some(s) = started.take() {
                    let _ = s.send(Err(ServiceError::internal_because("the export failed", e)));
                } else {
                    let _ = chunks.blocking_send(Err(e.to_string()));
                }
            }
        }
    });
    match ready.await {
        Ok(Ok(())) => Ok(rx),
        Ok(Err(e)) => Err(e),
        Err(_) => Err(ServiceError::internal("export task ended before starting")),
    }
}

impl From<ExportError> for ServiceError {
    fn from(e: ExportError) -> Self {
        match e {
            ExportError::Db(d) => d.into(),
            ExportError::Sink(io) => ServiceError::internal_because("writing the export", io),
        }
    }
}
