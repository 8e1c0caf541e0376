//! Queries of the journal, its chain head and the balances.

use super::schema::{balances, balances_by_day, journal_entries, ledger_head, postings};
use super::DbConnection;
use diesel::prelude::*;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = journal_entries)]
pub struct EntryRow {
    pub seq: i64,
    pub id: String,
    pub kind: String,
    pub reference: Option<String>,
    pub recorded_at: chrono::NaiveDateTime,
    pub prev_hash: String,
    pub hash: String,
    /// None for entries written before effective dates existed.
    pub effective_date: Option<chrono::NaiveDate>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = postings)]
pub struct PostingRow {
    pub entry_seq: i64,
    pub idx: i32,
    pub account: String,
    pub asset: String,
    pub amount: i64,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = balances)]
pub struct BalanceRow {
    pub account: String,
    pub asset: String,
    pub balance: i64,
}

/// Takes the chain's lock (the head row) and returns the next seq, the previous hash and
/// the previous entry's recorded_at.
pub fn advance_head(
    conn: &mut DbConnection,
) -> QueryResult<(i64, String, Option<chrono::NaiveDateTime>)> {
    super::cached(
        diesel::update(ledger_head::table.find(1)).set(ledger_head::seq.eq(ledger_head::seq + 1)),
    )
    .execute(conn)?;
    ledger_head::table
        .find(1)
        .select((
            ledger_head::seq,
            ledger_head::hash,
            ledger_head::recorded_at,
        ))
        .first(conn)
}

pub fn set_head(
    conn: &mut DbConnection,
    hash: &str,
    recorded_at: chrono::NaiveDateTime,
) -> QueryResult<()> {
    super::cached(diesel::update(ledger_head::table.find(1)).set((
        ledger_head::hash.eq(hash),
        ledger_head::recorded_at.eq(recorded_at),
    )))
    .execute(conn)
    .map(drop)
}

pub fn head(conn: &mut DbConnection) -> QueryResult<(i64, String)> {
    ledger_head::table
        .find(1)
        .select((ledger_head::seq, ledger_head::hash))
        .first(conn)
}

pub fn insert_entry(
    conn: &mut DbConnection,
    entry: &EntryRow,
    rows: &[PostingRow],
) -> QueryResult<()> {
    super::cached(diesel::insert_into(journal_entries::table).values(entry)).execute(conn)?;
    super::on_backend!(conn, |c| diesel::insert_into(postings::table)
        .values(rows)
        .execute(c))?;
    Ok(())
}

/// Adds `amount` to a balance that exists, refusing to take it below `floor` when given or
/// beyond what a BIGINT holds. Returns whether a row was changed.
pub fn add_to_balance(
    conn: &mut DbConnection,
    account: &str,
    asset: &str,
    amount: i64,
    floor: Option<i64>,
) -> QueryResult<bool> {
    let Some((lo, hi)) = super::room_for(amount, floor.unwrap_or(i64::MIN)) else {
        return Ok(false);
    };
    let target = balances::table
        .filter(balances::account.eq(account))
        .filter(balances::asset.eq(asset))
        .filter(balances::balance.between(lo, hi));
    let add = balances::balance.eq(balances::balance + amount);
    Ok(super::cached(diesel::update(target).set(add)).execute(conn)? == 1)
}

pub fn insert_balance(
    conn: &mut DbConnection,
    account: &str,
    asset: &str,
    balance: i64,
) -> QueryResult<()> {
    super::cached(diesel::insert_into(balances::table).values((
        balances::account.eq(account),
        balances::asset.eq(asset),
        balances::balance.eq(balance),
    )))
    .execute(conn)
    .map(drop)
}

/// Adds `amount` to an account's figure of one effective day if the row exists and the sum
/// stays within a BIGINT. Returns whether a row was changed.
pub fn add_to_day(
    conn: &mut DbConnection,
    account: &str,
    asset: &str,
    day: chrono::NaiveDate,
    amount: i64,
) -> QueryResult<bool> {
    let Some((lo, hi)) = super::room_for(amount, i64::MIN) else {
        return Ok(false);
    };
    let target = balances_by_day::table
        .filter(balances_by_day::account.eq(account))
        .filter(balances_by_day::asset.eq(asset))
        .filter(balances_by_day::day.eq(day))
        .filter(balances_by_day::amount.between(lo, hi));
    let add = balances_by_day::amount.eq(balances_by_day::amount + amount);
    Ok(super::cached(diesel::update(target).set(add)).execute(conn)? == 1)
}

pub fn day_amount(
    conn: &mut DbConnection,
    account: &str,
    asset: &str,
    day: chrono::NaiveDate,
) -> QueryResult<Option<i64>> {
    balances_by_day::table
        .find((account, asset, day))
        .select(balances_by_day::amount)
        .first(conn)
        .optional()
}

pub fn insert_day(
    conn: &mut DbConnection,
    account: &str,
    asset: &str,
    day: chrono::NaiveDate,
    amount: i64,
) -> QueryResult<()> {
    super::cached(diesel::insert_into(balances_by_day::table).values((
        balances_by_day::account.eq(account),
        balances_by_day::asset.eq(asset),
        balances_by_day::day.eq(day),
        balances_by_day::amount.eq(amount),
    )))
    .execute(conn)
    .map(drop)
}

/// Every stored figure by effective day, page by page in key order: (account, asset, day,
/// amount) after `after` (exclusive).
pub fn days_page(
    conn: &mut DbConnection,
    after: Option<&(String, String, chrono::NaiveDate)>,
    limit: i64,
) -> QueryResult<Vec<(String, String, chrono::NaiveDate, i64)>> {
    let mut q = balances_by_day::table
        .select((
            balances_by_day::account,
            balances_by_day::asset,
            balances_by_day::day,
            balances_by_day::amount,
        ))
        .order((
            balances_by_day::account.asc(),
            balances_by_day::asset.asc(),
            balances_by_day::day.asc(),
        ))
        .limit(limit)
        .into_boxed();
    if let Some((account, asset, day)) = after {
        q = q.filter(
            balances_by_day::account
                .gt(account.clone())
                .or(balances_by_day::account.eq(account.clone()).and(
                    balances_by_day::asset
                        .gt(asset.clone())
                        .or(balances_by_day::asset
                            .eq(asset.clone())
                            .and(balances_by_day::day.gt(*day))),
                )),
        );
    }
    q.load(conn)
}

/// Sums per (account, asset) on the effective basis of the days in `[from, through]` (`from`
/// None: from the first): at `from` None, the balances at the end of `through`. An indexed
/// read of `balances_by_day`; the journal is not read.
pub fn sums_effective(
    conn: &mut DbConnection,
    from: Option<chrono::NaiveDate>,
    through: chrono::NaiveDate,
    prefix: Option<&str>,
    asset: Option<&str>,
) -> QueryResult<Vec<BalanceRow>> {
    let total = super::sum("balances_by_day.amount");
    let mut q = balances_by_day::table
        .filter(balances_by_day::day.le(through))
        .group_by((balances_by_day::account, balances_by_day::asset))
        .select((balances_by_day::account, balances_by_day::asset, total))
        .order((balances_by_day::account.asc(), balances_by_day::asset.asc()))
        .into_boxed();
    if let Some(from) = from {
        q = q.filter(balances_by_day::day.ge(from));
    }
    if let Some(prefix) = prefix {
        q = q.filter(
            balances_by_day::account
                .like(like_prefix(prefix))
                .escape('\\'),
        );
    }
    if let Some(asset) = asset {
        q = q.filter(balances_by_day::asset.eq(asset.to_owned()));
    }
    let rows: Vec<(String, String, i64)> = q.load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(account, asset, balance)| BalanceRow {
            account,
            asset,
            balance,
        })
        .collect())
}

/// The first day anything is effective on.
pub fn first_effective_day(conn: &mut DbConnection) -> QueryResult<Option<chrono::NaiveDate>> {
    balances_by_day::table
        .select(diesel::dsl::min(balances_by_day::day))
        .first(conn)
}

/// Every cached balance: (account, asset, balance). Their number grows with the accounts,
/// not with the journal.
pub fn all_balances(conn: &mut DbConnection) -> QueryResult<Vec<(String, String, i64)>> {
    balances::table
        .select((balances::account, balances::asset, balances::balance))
        .load(conn)
}

pub fn balance(conn: &mut DbConnection, account: &str, asset: &str) -> QueryResult<Option<i64>> {
    balances::table
        .filter(balances::account.eq(account))
        .filter(balances::asset.eq(asset))
        .select(balances::balance)
        .first(conn)
        .optional()
}

/// Entries with seq > `after_seq` in seq order, optionally only those recorded in [from, to).
pub fn entries_page(
    conn: &mut DbConnection,
    after_seq: i64,
    limit: i64,
    from: Option<chrono::NaiveDateTime>,
    to: Option<chrono::NaiveDateTime>,
) -> QueryResult<Vec<EntryRow>> {
    let mut q = journal_entries::table
        .filter(journal_entries::seq.gt(after_seq))
        .select(EntryRow::as_select())
        .order(journal_entries::seq.asc())
        .limit(limit)
        .into_boxed();
    if let Some(from) = from {
        q = q.filter(journal_entries::recorded_at.ge(from));
    }
    if let Some(to) = to {
        q = q.filter(journal_entries::recorded_at.lt(to));
    }
    q.load(conn)
}

/// The postings of entries with seq in [first, last], in (seq, idx) order.
pub fn postings_between(
    conn: &mut DbConnection,
    first: i64,
    last: i64,
) -> QueryResult<Vec<PostingRow>> {
    postings::table
        .filter(postings::entry_seq.between(first, last))
        .select(PostingRow::as_select())
        .order((postings::entry_seq.asc(), postings::idx.asc()))
        .load(conn)
}

/// Escapes LIKE wildcards so that a prefix matches literally (`_` is common in codes).
fn like_prefix(prefix: &str) -> String {
    let mut p = String::with_capacity(prefix.len() + 1);
    for c in prefix.chars() {
        if matches!(c, '%' | '_' | '\\') {
            p.push('\\');
        }
        p.push(c);
    }
    p.push('%');
    p
}

/// Current balances, filtered by account prefix and asset.
pub fn balances(
    conn: &mut DbConnection,
    prefix: Option<&str>,
    asset: Option<&str>,
) -> QueryResult<Vec<BalanceRow>> {
    let mut q = balances::table
        .select(BalanceRow::as_select())
        .order((balances::account.asc(), balances::asset.asc()))
        .into_boxed();
    if let Some(prefix) = prefix {
        q = q.filter(balances::account.like(like_prefix(prefix)).escape('\\'));
    }
    if let Some(asset) = asset {
        q = q.filter(balances::asset.eq(asset.to_owned()));
    }
    q.load(conn)
}

/// Balances as of a time: the sums of the postings of entries recorded at or before `as_of`.
pub fn balances_as_of(
    conn: &mut DbConnection,
    as_of: chrono::NaiveDateTime,
    prefix: Option<&str>,
    asset: Option<&str>,
) -> QueryResult<Vec<BalanceRow>> {
    let total = super::sum("postings.amount");
    let mut q = postings::table
        .inner_join(journal_entries::table)
        .filter(journal_entries::recorded_at.le(as_of))
        .group_by((postings::account, postings::asset))
        .select((postings::account, postings::asset, total))
        .order((postings::account.asc(), postings::asset.asc()))
        .into_boxed();
    if let Some(prefix) = prefix {
        q = q.filter(postings::account.like(like_prefix(prefix)).escape('\\'));
    }
    if let Some(asset) = asset {
        q = q.filter(postings::asset.eq(asset.to_owned()));
    }
    let rows: Vec<(String, String, i64)> = q.load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(account, asset, balance)| BalanceRow {
            account,
            asset,
            balance,
        })
        .collect())
}
