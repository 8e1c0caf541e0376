//! The reserve's economics (API.md part 2): the valuation of the stock against what is owed
//! on the loans, and the net return over a period. Both read balances on the effective basis
//! (`balances_by_day`), never the whole journal; the arithmetic is `domain::valuation`.

use super::ServiceError;
use crate::db::{self, tx, Db, DbConnection};
use crate::domain::code::Code;
use crate::domain::material::Unit;
use crate::domain::money::USD_SCALE;
use crate::domain::valuation::{self, Holding, RATIO_SCALE};
use crate::domain::values::{Figure, IsoDate, Quantity, UnitPrice};
use crate::ledger::accounts;
use chrono::NaiveDate;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, HashMap};

fn usd(cents: i128) -> Figure {
    Figure::new(cents, USD_SCALE)
}

/// One material in the valuation.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ValuationRow {
    pub material: Code,
    pub unit: Unit,
    /// The sum of its `inventory:*:<X>` balances.
    pub on_hand: Quantity,
    /// The sum of its `released:*:<X>` balances: stock out with manufacturers, to be returned.
    pub released_outstanding: Quantity,
    /// Its market price at the date (latest mark on or before it); null if none.
    pub price_usd: Option<UnitPrice>,
    pub price_as_of: Option<IsoDate>,
    /// on_hand × price, half-even to cents; null without a price.
    pub inventory_value_usd: Option<Figure>,
    /// released_outstanding × price, half-even to cents; null without a price.
    pub receivable_value_usd: Option<Figure>,
}

/// What every loan facility owes at the date, as its statement shows it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct LoansOwed {
    pub principal_outstanding_usd: Figure,
    pub interest_accrued_unpaid_usd: Figure,
    /// principal + interest accrued unpaid.
    pub owed_usd: Figure,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(example = json!({"as_of": "2026-06-30", "materials": [{"material": "NDPR_OXIDE", "unit": "kg", "on_hand": "1000", "released_outstanding": "250", "price_usd": "75", "price_as_of": "2026-06-28", "inventory_value_usd": "75000", "receivable_value_usd": "18750"}, {"material": "GA", "unit": "kg", "on_hand": "10", "released_outstanding": "0", "price_usd": null, "price_as_of": null, "inventory_value_usd": null, "receivable_value_usd": null}], "inventory_value_usd": "75000", "receivable_value_usd": "18750", "unpriced": ["GA"], "loans": {"principal_outstanding_usd": "60000", "interest_accrued_unpaid_usd": "0", "owed_usd": "60000"}, "coverage_ratio": "1.5625"}))]
pub struct ValuationReport {
    pub as_of: IsoDate,
    pub materials: Vec<ValuationRow>,
    /// The sum of the priced materials' inventory values.
    pub inventory_value_usd: Figure,
    /// The sum of the priced materials' receivable values.
    pub receivable_value_usd: Figure,
    /// Materials without a market price at the date.
    pub unpriced: Vec<Code>,
    pub loans: LoansOwed,
    /// (inventory + receivable value) ÷ owed, 4 decimals half-even; null when nothing is owed.
    pub coverage_ratio: Option<Figure>,
}

/// Sums of balances per asset of the accounts starting with `prefix`, on the effective basis.
fn by_asset(
    conn: &mut DbConnection,
    from: Option<NaiveDate>,
    through: NaiveDate,
    prefix: &str,
) -> diesel::QueryResult<HashMap<String, i128>> {
    let mut out: HashMap<String, i128> = HashMap::new();
    for r in db::ledger::sums_effective(conn, from, through, Some(prefix), None)? {
        *out.entry(r.asset).or_default() += i128::from(r.balance);
    }
    Ok(out)
}

/// The valuation at the end of `as_of` on the effective basis.
pub async fn valuation(db: &Db, as_of: NaiveDate) -> Result<ValuationReport, ServiceError> {
    db.run(move |conn| {
        tx::snapshot(conn, |conn| {
            let on_hand = by_asset(conn, None, as_of, "inventory:")?;
            let released = by_asset(conn, None, as_of, "released:")?;
            let mut rows = Vec::new();
            let mut values = Vec::new();
            let mut unpriced = Vec::new();
            for m in db::materials::page(conn, None, i64::MAX)? {
                let mark = db::prices::latest(conn, &m.code, as_of)?;
                let holding = Holding {
                    scale: m.scale.get(),
                    on_hand: on_hand.get(m.code.as_str()).copied().unwrap_or(0),
                    released_outstanding: released.get(m.code.as_str()).copied().unwrap_or(0),
                    price_micros: mark.as_ref().map(|p| p.price_micros),
                };
                let value = holding.value();
                if mark.is_none() {
                    unpriced.push(m.code.clone());
                }
                rows.push(ValuationRow {
                    unit: m.unit,
                    on_hand: Quantity::wide(holding.on_hand, holding.scale),
                    released_outstanding: Quantity::wide(
                        holding.released_outstanding,
                        holding.scale,
                    ),
                    price_usd: mark.as_ref().map(|p| UnitPrice(p.price_micros)),
                    price_as_of: mark.as_ref().map(|p| IsoDate(p.as_of)),
                    inventory_value_usd: value.inventory_cents.map(usd),
                    receivable_value_usd: value.receivable_cents.map(usd),
                    material: m.code,
                });
                values.push(value);
            }
            let (mut principal, mut interest) = (0i128, 0i128);
            let mut after: Option<String> = None;
            loop {
                let page = db::loans::page_facilities(conn, after.as_deref(), 100)?;
                let Some(last) = page.last() else { break };
                after = Some(last.id.clone());
                for f in &page {
                    let owed = super::loans::owed_as_of(conn, f, as_of)?;
                    principal += i128::from(owed.principal_outstanding());
                    interest += i128::from(owed.interest_unpaid);
                }
            }
            let v = valuation::valuation(&values, principal + interest);
            Ok(ValuationReport {
                as_of: IsoDate(as_of),
                materials: rows,
                inventory_value_usd: usd(v.inventory_cents),
                receivable_value_usd: usd(v.receivable_cents),
                unpriced,
                loans: LoansOwed {
                    principal_outstanding_usd: usd(principal),
                    interest_accrued_unpaid_usd: usd(interest),
                    owed_usd: usd(v.owed_cents),
                },
                coverage_ratio: v.coverage.map(|r| Figure::new(r, RATIO_SCALE)),
            })
        })
    })
    .await
}

/// Fees income by kind (`income:fees:<kind>`).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct FeesIncome {
    pub entry: Figure,
    pub carrying: Figure,
    /// Every `income:fees:*` account.
    pub total: Figure,
}

/// The premium of one material returned in the period.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PremiumReturned {
    pub material: Code,
    pub quantity: Quantity,
    /// The sum of each replenishment's premium × the market price at its effective date, half-
    /// even to cents per replenishment; null when none of them had a price. A premium without
    /// a price is not counted (its material is listed in `unpriced`).
    pub value_usd: Option<Figure>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(example = json!({"from": "2026-01-01", "to": "2026-07-01", "fees_income_usd": {"entry": "2500", "carrying": "1250.5", "total": "3750.5"}, "premium_returned": [{"material": "NDPR_OXIDE", "quantity": "5", "value_usd": "375"}], "premium_value_usd": "375", "interest_expense_usd": "2960.55", "net_usd": "1164.95", "unpriced": []}))]
pub struct NetReturnReport {
    pub from: IsoDate,
    pub to: IsoDate,
    pub fees_income_usd: FeesIncome,
    pub premium_returned: Vec<PremiumReturned>,
    /// The sum of the priced premiums' values.
    pub premium_value_usd: Figure,
    /// Postings to `expense:interest:*`.
    pub interest_expense_usd: Figure,
    /// fees total + premium value − interest expense.
    pub net_usd: Figure,
    /// Materials with premium returned in the period that had no market price at a
    /// replenishment's effective date.
    pub unpriced: Vec<Code>,
}

/// The net return over `[from, to)` on the effective basis (`from` None: from the first
/// entry).
pub async fn net_return(
    db: &Db,
    from: Option<NaiveDate>,
    to: NaiveDate,
) -> Result<NetReturnReport, ServiceError> {
    db.run(move |conn| {
        tx::snapshot(conn, |conn| {
            let from = match from {
                Some(d) => d,
                None => db::ledger::first_effective_day(conn)?.unwrap_or(to).min(to),
            };
            // [from, to) is the days from through the one before to.
            let through = to.pred_opt().unwrap_or(to);
            let fees_prefix = accounts::fee_income("");
            let fees = if from < to {
                db::ledger::sums_effective(conn, Some(from), through, Some(&fees_prefix), None)?
            } else {
                Vec::new()
            };
            let magnitude = |kind: Option<&str>| -> i128 {
                fees.iter()
                    .filter(|r| kind.is_none_or(|k| r.account == accounts::fee_income(k)))
                    .map(|r| i128::from(r.balance))
                    .sum::<i128>()
                    .abs()
            };
            let fees_cents = magnitude(None);
            let fees_income = FeesIncome {
                entry: usd(magnitude(Some("entry"))),
                carrying: usd(magnitude(Some("carrying"))),
                total: usd(fees_cents),
            };
            let interest_cents = if from < to {
                by_asset(conn, Some(from), through, &accounts::interest_expense(""))?
                    .get(accounts::USD)
                    .copied()
                    .unwrap_or(0)
                    .abs()
            } else {
                0
            };
            let scales = super::Scales::load(conn)?;
            let mut prices: HashMap<(Code, NaiveDate), Option<i64>> = HashMap::new();
            // Per material: (quantity, priced value, any priced).
            let mut premiums: BTreeMap<Code, (i128, i128, bool)> = BTreeMap::new();
            let mut values = Vec::new();
            let mut unpriced = BTreeSet::new();
            for p in db::obligations::premiums_effective(conn, from, to)? {
                let day = p.effective_date.unwrap_or(p.recorded_at.date());
                let key = (p.material.clone(), day);
                let price = match prices.get(&key) {
                    Some(price) => *price,
                    None => {
                        let price =
                            db::prices::latest(conn, &p.material, day)?.map(|m| m.price_micros);
                        prices.insert(key, price);
                        price
                    }
                };
                let quantity = i128::from(p.amount).abs();
                let row = premiums.entry(p.material.clone()).or_default();
                row.0 += quantity;
                match price {
                    Some(micros) => {
                        let scale = scales.of(&p.material)?;
                        let value = valuation::value_cents(quantity, scale, micros);
                        row.1 += value;
                        row.2 = true;
                        values.push(value);
                    }
                    None => {
                        unpriced.insert(p.material);
                    }
                }
            }
            let n = valuation::net_return(fees_cents, &values, interest_cents);
            Ok(NetReturnReport {
                from: IsoDate(from),
                to: IsoDate(to),
                fees_income_usd: fees_income,
                premium_returned: premiums
                    .into_iter()
                    .map(|(material, (quantity, value, priced))| {
                        Ok(PremiumReturned {
                            quantity: Quantity::wide(quantity, scales.of(&material)?),
                            value_usd: priced.then(|| usd(value)),
                            material,
                        })
                    })
                    .collect::<Result<_, ServiceError>>()?,
                premium_value_usd: usd(n.premium_cents),
                interest_expense_usd: usd(n.interest_cents),
                net_usd: usd(n.net_cents),
                unpriced: unpriced.into_iter().collect(),
            })
        })
    })
    .await
}
