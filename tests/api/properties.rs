//! Property test: random sequences of movements against a model of the stock. Every request
//! succeeds exactly when the model says the stock is there; afterwards the books agree with
//! the model and with themselves (balances = sums of postings, zero sums, nothing negative).

use crate::concurrency::assert_books_consistent;
use crate::helpers::{spawn_app, TestApp};
use proptest::prelude::*;
use rust_decimal::Decimal;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::str::FromStr;
use stockpile::domain::actor::Role;

const FACILITIES: [&str; 3] = ["NV1", "TX2", "PA3"];

#[derive(Debug, Clone)]
enum Op {
    Receive {
        facility: usize,
        quantity: i64,
    },
    Transfer {
        from: usize,
        to: usize,
        quantity: i64,
    },
    Adjust {
        facility: usize,
        quantity: i64,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0..3usize, 1..50i64).prop_map(|(facility, quantity)| Op::Receive { facility, quantity }),
        (0..3usize, 0..3usize, 1..60i64).prop_map(|(from, to, quantity)| Op::Transfer {
            from,
            to,
            quantity
        }),
        (0..3usize, -60..20i64).prop_map(|(facility, quantity)| Op::Adjust { facility, quantity }),
    ]
}

/// Quantities in quarter units, written with the material's 2 decimals ("1.25", "-0.75").
fn q(n: i64) -> String {
    Decimal::new(n * 25, 2).to_string()
}

async fn apply(app: &TestApp, model: &mut BTreeMap<usize, i64>, op: &Op) {
    let t = app.token(Role::Operator, "op");
    let (res, expect_ok, expect_code) = match *op {
        Op::Receive { facility, quantity } => {
            let body = json!({"material": "CO", "facility": FACILITIES[facility], "quantity": q(quantity),
                              "grade": "99.8", "origin_country": "CD", "supplier": "Gecamines",
                              "unit_cost_usd": "22000"});
            *model.entry(facility).or_default() += quantity;
            (app.post_as(&t, "/v1/lots", &body).await, true, "")
        }
        Op::Transfer { from, to, quantity } => {
            let body = json!({"material": "CO", "from_facility": FACILITIES[from], "to_facility": FACILITIES[to],
                              "quantity": q(quantity)});
            let have = model.get(&from).copied().unwrap_or(0);
            let ok = from != to && have >= quantity;
            if ok {
                *model.entry(from).or_default() -= quantity;
                *model.entry(to).or_default() += quantity;
            }
            let code = if from == to {
                "validation_failed"
            } else {
                "insufficient_stock"
            };
            (
                app.post_as(&t, "/v1/inventory/transfers", &body).await,
                ok,
                code,
            )
        }
        Op::Adjust { facility, quantity } => {
            let body = json!({"material": "CO", "facility": FACILITIES[facility], "quantity": q(quantity),
                              "reason": "property test"});
            let have = model.get(&facility).copied().unwrap_or(0);
            // Upward corrections need an existing lot there: one exists iff stock ever arrived.
            let (ok, code) = match quantity {
                0 => (false, "validation_failed"),
                n if n < 0 => (have >= -n, "insufficient_stock"),
                _ => (model.contains_key(&facility), "validation_failed"),
            };
            if ok {
                *model.entry(facility).or_default() += quantity;
            }
            (
                app.post_as(&t, "/v1/inventory/adjustments", &body).await,
                ok,
                code,
            )
        }
    };
    let status = res.status().as_u16();
    let body: Value = res.json().await.unwrap();
    if expect_ok {
        assert_eq!(status, 201, "{op:?}: {body}");
    } else {
        assert_eq!(status, 422, "{op:?}: {body}");
        assert_eq!(body["code"], expect_code, "{op:?}");
    }
}

async fn run(ops: Vec<Op>) {
    let app = spawn_app().await;
    app.create_material("CO", 2, "0").await;
    for f in FACILITIES {
        app.create_facility(f).await;
    }
    // A facility is a model key once stock has arrived there (receipts or transfers in).
    let mut model = BTreeMap::new();
    for op in &ops {
        apply(&app, &mut model, op).await;
    }
    let total: i64 = model.values().sum();
    let on_hand = Decimal::from_str(app.figures("CO").await["on_hand"].as_str().unwrap()).unwrap();
    assert_eq!(on_hand, Decimal::new(total * 25, 2));
    assert_books_consistent(&app, "CO").await;
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, max_shrink_iters: 64, ..ProptestConfig::default() })]

    #[test]
    fn movements_keep_the_books_consistent(ops in prop::collection::vec(op(), 1..14)) {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(run(ops));
    }
}
