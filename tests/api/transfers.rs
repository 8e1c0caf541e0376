//! Entitlement moved between manufacturers: the weighted locked price, the sender's
//! committed floor, both histories and both sides' events, and refusals that change nothing.

use crate::drawdowns::Reserve;
use crate::helpers::assert_problem;
use serde_json::{json, Value};

impl Reserve {
    /// An admin's transfer of `quantity` of GA from `from` to `to` for `price` USD.
    pub async fn transfer(
        &self,
        from: &str,
        to: &str,
        quantity: &str,
        price: &str,
    ) -> reqwest::Response {
        let body = json!({"from_manufacturer_id": from, "to_manufacturer_id": to,
                          "material": "GA", "quantity": quantity, "price_usd": price});
        self.app
            .post_as(&self.app.admin(), "/v1/allocation-transfers", &body)
            .await
    }

    /// The items of a list `path` as `token` reads it.
    async fn items(&self, token: &str, path: &str) -> Vec<Value> {
        let res = self.app.get_as(token, path).await;
        assert_eq!(res.status(), 200);
        let page: Value = res.json().await.unwrap();
        page["items"].as_array().unwrap().clone()
    }
}

fn figures(a: &Value) -> (&str, &str) {
    (
        a["quantity"].as_str().unwrap(),
        a["locked_price_usd"].as_str().unwrap(),
    )
}

#[tokio::test]
async fn a_transfer_moves_entitlement_at_the_weighted_locked_price() {
    let r = Reserve::new(1000, 0).await;
    let a = r.manufacturer("Acme", "commercial", "300", "10").await;
    let b = r.manufacturer("Beta", "commercial", "100", "14").await;
    let c = r.manufacturer("Cobalt Works", "commercial", "0", "0").await;

    let res = r.transfer(&a, &b, "100", "1500.50").await;
    assert_eq!(res.status(), 201);
    let t: Value = res.json().await.unwrap();
    assert_eq!(t["quantity"], "100");
    assert_eq!(t["price_usd"], "1500.5");
    assert_eq!(t["locked_price_usd"], "10");
    // (100 × 14 + 100 × 10) ÷ 200.
    assert_eq!(t["recipient_locked_price_usd"], "12");
    assert_eq!(figures(&r.allocation(&a).await), ("200", "10"));
    assert_eq!(figures(&r.allocation(&b).await), ("200", "12"));

    // Into an allocation of nothing: the sender's price; a third of a micro-dollar rounds.
    assert_eq!(r.transfer(&b, &c, "3", "0").await.status(), 201);
    assert_eq!(figures(&r.allocation(&c).await), ("3", "12"));
    assert_eq!(r.transfer(&a, &c, "1", "0").await.status(), 201);
    // (3 × 12 + 1 × 10) ÷ 4 = 11.5.
    assert_eq!(figures(&r.allocation(&c).await), ("4", "11.5"));
    assert_eq!(figures(&r.allocation(&b).await), ("197", "12"));

    // Both sides keep the change in their history, made by the admin.
    let history = r
        .items(
            &r.token_of(&b),
            &format!("/v1/manufacturers/{b}/allocations/GA/history"),
        )
        .await;
    let changes: Vec<_> = history.iter().map(figures).collect();
    assert_eq!(changes, [("197", "12"), ("200", "12"), ("100", "14")]);
    assert_eq!(history[0]["actor"], t["actor"]);
    assert_eq!(t["actor"], "admin-1");

    // Each side sees the transfers it took part in, and its events; no one else does.
    let listed = r.items(&r.token_of(&a), "/v1/allocation-transfers").await;
    assert_eq!(listed.len(), 2, "a's transfers: to b and to c");
    assert_eq!(listed[1]["id"], t["id"], "newest first");
    let staff = r
        .items(
            &r.op(1),
            &format!("/v1/allocation-transfers?manufacturer_id={c}"),
        )
        .await;
    assert_eq!(staff.len(), 2);
    let foreign = r
        .items(
            &r.token_of(&c),
            &format!("/v1/allocation-transfers?manufacturer_id={a}"),
        )
        .await;
    assert!(foreign.is_empty(), "{foreign:?}");
    let feed = "/v1/events?type=allocation.transferred";
    let seen = r.items(&r.token_of(&b), feed).await;
    assert_eq!(seen.len(), 2, "b sent one and received one");
    assert_eq!(seen[0]["data"], t, "the event carries the transfer's view");
    assert_eq!(r.items(&r.token_of(&a), feed).await.len(), 2);
    assert_eq!(r.items(&r.token_of(&c), feed).await.len(), 2);
}

#[tokio::test]
async fn a_sender_keeps_what_it_has_committed() {
    let r = Reserve::new(1000, 0).await;
    let a = r.manufacturer("Acme", "commercial", "300", "10").await;
    let b = r.manufacturer("Beta", "commercial", "100", "14").await;
    r.disruption("severe").await;
    r.approved(&r.submitted(&a, "100").await).await; // 100 outstanding
    r.submitted(&a, "50").await; // 50 held

    let res = r.transfer(&a, &b, "151", "0").await;
    let refused = assert_problem(res, 422, "allocation_below_committed").await["rule"].clone();
    assert_eq!(refused["quantity"], "149");
    assert_eq!(refused["outstanding"], "100");
    assert_eq!(refused["held"], "50");
    // More than the whole entitlement is refused the same way.
    let res = r.transfer(&a, &b, "301", "0").await;
    assert_problem(res, 422, "allocation_below_committed").await;
    assert_eq!(figures(&r.allocation(&a).await), ("300", "10"));
    assert_eq!(figures(&r.allocation(&b).await), ("100", "14"));
    assert!(r
        .items(&r.op(1), "/v1/allocation-transfers")
        .await
        .is_empty());

    assert_eq!(r.transfer(&a, &b, "150", "0").await.status(), 201);
    let left = r.allocation(&a).await;
    assert_eq!(figures(&left), ("150", "10"));
    assert_eq!(left["drawable_now"], "0", "all of it committed");
}

#[tokio::test]
async fn a_bad_transfer_is_refused_and_changes_nothing() {
    let r = Reserve::new(1000, 0).await;
    let a = r.manufacturer("Acme", "commercial", "300", "10").await;
    let b = r.manufacturer("Beta", "commercial", "100", "14").await;
    let send = |body: Value| {
        let r = &r;
        async move {
            r.app
                .post_as(&r.app.admin(), "/v1/allocation-transfers", &body)
                .await
        }
    };
    let body = |from: &str, to: &str, material: &str, q: &str, price: &str| {
        json!({"from_manufacturer_id": from, "to_manufacturer_id": to,
               "material": material, "quantity": q, "price_usd": price})
    };

    let res = send(body(&a, &a, "GA", "0", "1.001")).await;
    let p = assert_problem(res, 422, "validation_failed").await;
    let fields: Vec<_> = p["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["to_manufacturer_id", "quantity", "price_usd"]);
    let res = send(body("acme", &b, "GA", "1", "0")).await;
    assert_problem(res, 422, "validation_failed").await;
    let res = send(body(&a, &b, "ga\u{0}", "1", "0")).await;
    assert_problem(res, 422, "validation_failed").await;
    let res = send(body(&a, &b, "CO", "1", "0")).await;
    assert_problem(res, 404, "not_found").await;
    let nobody = "0192f5e0-0000-7000-8000-000000000001";
    assert_problem(
        send(body(&a, nobody, "GA", "1", "0")).await,
        404,
        "not_found",
    )
    .await;

    // A recipient whose entitlement would pass the largest figure stored.
    let huge = json!({"quantity": "9223372036854775807", "locked_price_usd": "1"});
    assert_eq!(r.put_allocation(&b, huge).await.status(), 200);
    let res = send(body(&a, &b, "GA", "1", "0")).await;
    let p = assert_problem(res, 422, "validation_failed").await;
    assert_eq!(p["errors"][0]["field"], "quantity", "{p}");

    // Both sides must be active.
    let admin = r.app.admin();
    let res = r
        .app
        .post_as(
            &admin,
            &format!("/v1/manufacturers/{a}/suspend"),
            &json!({}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let c = r
        .manufacturer("Cobalt Works", "commercial", "10", "1")
        .await;
    assert_problem(r.transfer(&c, &a, "1", "0").await, 409, "invalid_state").await;
    assert_problem(r.transfer(&a, &c, "1", "0").await, 409, "invalid_state").await;

    assert_eq!(figures(&r.allocation(&a).await), ("300", "10"));
    assert_eq!(figures(&r.allocation(&c).await), ("10", "1"));
    assert!(r
        .items(&r.op(1), "/v1/allocation-transfers")
        .await
        .is_empty());
}
