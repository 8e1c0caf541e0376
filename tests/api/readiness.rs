//! Readiness (API.md part 2): allocations' monthly consumption, market price marks, and the
//! cover, stress and concentration reports with their CSV forms, on a reserve built here
//! and checked against figures worked by hand.

use crate::helpers::{assert_problem, spawn_app, TestApp};
use reqwest::Method;
use serde_json::{json, Value};
use stockpile::domain::actor::Role;

/// GA (scale 0, floor 300): 700 from CN and 300 from AU. NI (scale 3, no floor): 2.5 from
/// AU. A defense manufacturer using 300 GA a month and a commercial one using 600, each
/// with an allocation of 1000.
struct Readiness {
    app: TestApp,
    defense: String,
    commercial: String,
}

impl Readiness {
    async fn new() -> Self {
        let app = spawn_app().await;
        app.create_material("GA", 0, "300").await;
        app.create_material("NI", 3, "0").await;
        app.create_facility("NV1").await;
        for (material, quantity, origin) in [
            ("GA", "700", "CN"),
            ("GA", "300", "AU"),
            ("NI", "2.5", "AU"),
        ] {
            let body = json!({"material": material, "facility": "NV1", "quantity": quantity,
                              "grade": "99.5", "origin_country": origin, "supplier": "Mine",
                              "unit_cost_usd": "1"});
            let res = app
                .post_as(&app.token(Role::Operator, "op-1"), "/v1/lots", &body)
                .await;
            assert_eq!(res.status(), 201);
        }
        let mut ids = Vec::new();
        for (name, tier, monthly) in [
            ("Shield", "defense", "300"),
            ("Gadgets", "commercial", "600"),
        ] {
            let res = app
                .post_as(
                    &app.admin(),
                    "/v1/manufacturers",
                    &json!({"name": name, "priority_tier": tier}),
                )
                .await;
            let id = res.json::<Value>().await.unwrap()["id"]
                .as_str()
                .unwrap()
                .to_owned();
            let res = put_allocation(&app, &id, &json!({"quantity": "1000", "locked_price_usd": "10", "monthly_consumption": monthly})).await;
            assert_eq!(res.status(), 200);
            ids.push(id);
        }
        let commercial = ids.pop().unwrap();
        let defense = ids.pop().unwrap();
        Readiness {
            app,
            defense,
            commercial,
        }
    }

    fn staff(&self) -> String {
        self.app.token(Role::Auditor, "aud-1")
    }

    async fn get(&self, path: &str) -> Value {
        let res = self.app.get_as(&self.staff(), path).await;
        assert_eq!(res.status(), 200, "{path}");
        res.json().await.unwrap()
    }

    async fn csv(&self, res: reqwest::Response) -> Vec<String> {
        assert_eq!(res.status(), 200);
        assert_eq!(res.headers()["content-type"], "text/csv; charset=utf-8");
        res.text()
            .await
            .unwrap()
            .lines()
            .map(str::to_owned)
            .collect()
    }

    async fn stress(&self, body: &Value) -> reqwest::Response {
        self.app
            .post_as(&self.staff(), "/v1/reports/stress", body)
            .await
    }
}

async fn put_allocation(app: &TestApp, id: &str, body: &Value) -> reqwest::Response {
    app.request(
        Method::PUT,
        &format!("/v1/manufacturers/{id}/allocations/GA"),
    )
    .bearer_auth(app.admin())
    .json(body)
    .send()
    .await
    .unwrap()
}

#[tokio::test]
async fn allocations_carry_monthly_consumption() {
    let r = Readiness::new().await;
    let list = r
        .get(&format!("/v1/manufacturers/{}/allocations", r.commercial))
        .await;
    assert_eq!(list["items"][0]["monthly_consumption"], "600");
    // Absent: "0" (a PUT replaces the allocation's terms).
    let res = put_allocation(
        &r.app,
        &r.commercial,
        &json!({"quantity": "1000", "locked_price_usd": "10"}),
    )
    .await;
    assert_eq!(
        res.json::<Value>().await.unwrap()["monthly_consumption"],
        "0"
    );
    for (bad, why) in [
        ("-1", "negative"),
        ("1.5", "beyond GA's scale 0"),
        ("x", "not a decimal"),
    ] {
        let res = put_allocation(
            &r.app,
            &r.commercial,
            &json!({"quantity": "1000", "locked_price_usd": "10", "monthly_consumption": bad}),
        )
        .await;
        let body = assert_problem(res, 422, "validation_failed").await;
        assert_eq!(body["errors"][0]["field"], "monthly_consumption", "{why}");
    }
    let list = r
        .get(&format!("/v1/manufacturers/{}/allocations", r.commercial))
        .await;
    assert_eq!(
        list["items"][0]["monthly_consumption"], "0",
        "refusals changed nothing"
    );
}

#[tokio::test]
async fn cover_by_hand() {
    let r = Readiness::new().await;
    // GA: 900 a month = 30 a day; releasable 700 → 23.33… days, available 1000 → 33.33….
    let report = r.get("/v1/reports/cover").await;
    assert_eq!(report["target_days"], 60);
    let ga = &report["materials"][0];
    assert_eq!(
        ga,
        &json!({"material": "GA", "unit": "kg", "on_hand": "1000", "available": "1000",
                "releasable": "700", "strategic_floor": "300", "daily_demand": "30",
                "days_of_cover": "23.3", "days_to_zero": "33.3", "meets_target": false})
    );
    let ni = &report["materials"][1];
    assert_eq!(ni["daily_demand"], "0");
    assert_eq!(ni["days_of_cover"], Value::Null);
    assert_eq!(ni["days_to_zero"], Value::Null);
    assert_eq!(ni["meets_target"], Value::Null);

    // Suspended manufacturers do not count: 300 a month = 10 a day, 70 days of cover.
    let res = r
        .app
        .post_as(
            &r.app.admin(),
            &format!("/v1/manufacturers/{}/suspend", r.commercial),
            &json!({}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let ga = &r.get("/v1/reports/cover").await["materials"][0];
    assert_eq!(ga["daily_demand"], "10");
    assert_eq!(ga["days_of_cover"], "70");
    assert_eq!(ga["meets_target"], true);

    let lines = r
        .csv(
            r.app
                .get_as(&r.staff(), "/v1/reports/cover?format=csv")
                .await,
        )
        .await;
    assert_eq!(
        lines[0],
        "material,available,daily_demand,days_of_cover,days_to_zero,meets_target,on_hand,releasable,strategic_floor,unit"
    );
    assert_eq!(lines[1], "GA,1000,10,70,100,true,1000,700,300,kg");
    assert_eq!(lines[2], "NI,2.5,0,,,,2.5,2.5,0,kg");
    assert_eq!(lines.len(), 3);
}

#[tokio::test]
async fn stress_by_hand() {
    let r = Readiness::new().await;
    let before = r.app.figures("GA").await;
    let audited = r.app.audit_events().await.len();
    // Limited, 12 days: the cap is 0.30 × 1000 = 300; defense asks 10 a day and commercial
    // 20 (each within its 0.5 × 1000 share). Ten days of 30 reach the cap; days 11 and 12
    // serve nothing.
    let res = r
        .stress(&json!({"severity": "limited", "days": 12, "materials": ["GA"]}))
        .await;
    assert_eq!(res.status(), 200);
    let report: Value = res.json().await.unwrap();
    assert_eq!(report["severity"], "limited");
    assert_eq!(report["days"], 12);
    assert_eq!(report["demand_factor"], "1");
    assert_eq!(report["materials"].as_array().unwrap().len(), 1);
    assert_eq!(
        report["materials"][0],
        json!({"material": "GA", "demand": "360", "served": "300", "shortfall": "60",
               "by_tier": {"defense": {"demand": "120", "served": "100", "shortfall": "20"},
                           "critical": {"demand": "0", "served": "0", "shortfall": "0"},
                           "commercial": {"demand": "240", "served": "200", "shortfall": "40"}},
               "days_fully_served": 10, "exhausted_on_day": 11,
               "available_after": "700", "releasable_after": "400"})
    );
    // Critical, demand tripled: defense 30 a day, commercial 60, from 700 above the floor.
    // Days 1–7 serve 630; day 8: defense 30, commercial the 40 left above the floor (cut).
    // Days 9–18: defense alone, below the floor (waived), 30 a day down to 0; 19–20 nothing.
    let res = r
        .stress(
            &json!({"severity": "critical", "days": 20, "materials": ["GA"], "demand_factor": "3"}),
        )
        .await;
    let ga = &res.json::<Value>().await.unwrap()["materials"][0];
    assert_eq!(ga["by_tier"]["commercial"]["served"], "460", "7 × 60 + 40");
    assert_eq!(ga["by_tier"]["defense"]["served"], "540", "18 × 30");
    assert_eq!(ga["by_tier"]["defense"]["demand"], "600");
    assert_eq!(ga["exhausted_on_day"], 8);
    assert_eq!(ga["days_fully_served"], 7);
    assert_eq!(ga["available_after"], "0");
    // Nothing was touched, nothing audited.
    assert_eq!(r.app.figures("GA").await, before);
    assert_eq!(r.app.audit_events().await.len(), audited);

    let res = r
        .app
        .request(Method::POST, "/v1/reports/stress?format=csv")
        .bearer_auth(r.staff())
        .json(&json!({"severity": "severe", "days": 1}))
        .send()
        .await
        .unwrap();
    let lines = r.csv(res).await;
    assert_eq!(
        lines[0],
        "material,available_after,by_tier_commercial_demand,by_tier_commercial_served,\
         by_tier_commercial_shortfall,by_tier_critical_demand,by_tier_critical_served,\
         by_tier_critical_shortfall,by_tier_defense_demand,by_tier_defense_served,\
         by_tier_defense_shortfall,days_fully_served,demand,exhausted_on_day,\
         releasable_after,served,shortfall"
    );
    assert_eq!(lines[1], "GA,970,20,20,0,0,0,0,10,10,0,1,30,,670,30,0");
    assert_eq!(lines[2], "NI,2.5,0,0,0,0,0,0,0,0,0,1,0,,2.5,0,0");
}

#[tokio::test]
async fn stress_refuses_bad_input_naming_the_field() {
    let r = Readiness::new().await;
    for (body, field) in [
        (json!({"severity": "dire", "days": 10}), "severity"),
        (json!({"severity": "severe", "days": 0}), "days"),
        (json!({"severity": "severe", "days": 3651}), "days"),
        (
            json!({"severity": "severe", "days": 10, "demand_factor": "100.5"}),
            "demand_factor",
        ),
        (
            json!({"severity": "severe", "days": 10, "demand_factor": "-1"}),
            "demand_factor",
        ),
        (
            json!({"severity": "severe", "days": 10, "materials": ["XX"]}),
            "materials",
        ),
    ] {
        let body = assert_problem(r.stress(&body).await, 422, "validation_failed").await;
        assert_eq!(body["errors"][0]["field"], field, "{body}");
    }
    let res = r
        .app
        .request(Method::POST, "/v1/reports/stress?format=xml")
        .bearer_auth(r.staff())
        .json(&json!({"severity": "severe", "days": 1}))
        .send()
        .await
        .unwrap();
    assert_problem(res, 400, "malformed_request").await;
}

#[tokio::test]
async fn reports_are_for_staff() {
    let r = Readiness::new().await;
    let claims = json!({"sub": "sys", "role": "manufacturer", "org": r.defense,
                        "exp": crate::helpers::now() + 3600, "iss": r.app.settings.auth.issuer,
                        "aud": r.app.settings.auth.audience});
    let maker = r.app.token_with_claims(claims);
    for path in ["/v1/reports/cover", "/v1/reports/concentration"] {
        assert_problem(r.app.get_as(&maker, path).await, 403, "forbidden").await;
    }
    let res = r
        .app
        .post_as(
            &maker,
            "/v1/reports/stress",
            &json!({"severity": "severe", "days": 1}),
        )
        .await;
    assert_problem(res, 403, "forbidden").await;
    let res = r
        .app
        .get_as(&r.app.token(Role::Operator, "op-1"), "/v1/reports/cover")
        .await;
    assert_eq!(res.status(), 200);
}

async fn mark(
    app: &TestApp,
    token: &str,
    material: &str,
    price: &str,
    as_of: &str,
) -> reqwest::Response {
    app.post_as(
        token,
        &format!("/v1/materials/{material}/prices"),
        &json!({"price_usd": price, "as_of": as_of, "source": "Fastmarkets assessment"}),
    )
    .await
}

#[tokio::test]
async fn market_prices() {
    let r = Readiness::new().await;
    let op = r.app.token(Role::Operator, "op-1");
    let res = mark(&r.app, &op, "GA", "9.5", "2026-01-05").await;
    assert_eq!(res.status(), 201);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["material"], "GA");
    assert_eq!(body["price_usd"], "9.5");
    assert_eq!(body["as_of"], "2026-01-05");
    assert_eq!(body["recorded_by"], "op-1");
    assert!(body["recorded_at"].is_string());
    assert_eq!(
        mark(&r.app, &r.app.admin(), "GA", "10", "2026-02-01")
            .await
            .status(),
        201
    );
    assert_problem(
        mark(&r.app, &op, "GA", "11", "2026-02-01").await,
        409,
        "conflict",
    )
    .await;
    let tomorrow = (chrono::Utc::now().date_naive() + chrono::Days::new(1)).to_string();
    for (price, as_of, field) in [
        ("0", "2026-01-01", "price_usd"),
        ("1.0000001", "2026-01-01", "price_usd"),
        ("1", tomorrow.as_str(), "as_of"),
        ("1", "2026-13-01", "as_of"),
    ] {
        let body = assert_problem(
            mark(&r.app, &op, "GA", price, as_of).await,
            422,
            "validation_failed",
        )
        .await;
        assert_eq!(body["errors"][0]["field"], field);
    }
    assert_problem(
        mark(&r.app, &r.staff(), "GA", "1", "2026-01-01").await,
        403,
        "forbidden",
    )
    .await;
    assert_problem(
        mark(&r.app, &op, "ZZ", "1", "2026-01-01").await,
        404,
        "not_found",
    )
    .await;

    // Newest first; from/to inclusive; every role reads.
    let claims = json!({"sub": "sys", "role": "manufacturer", "org": r.defense,
                        "exp": crate::helpers::now() + 3600, "iss": r.app.settings.auth.issuer,
                        "aud": r.app.settings.auth.audience});
    let maker = r.app.token_with_claims(claims);
    let list: Value = r
        .app
        .get_as(&maker, "/v1/materials/GA/prices")
        .await
        .json()
        .await
        .unwrap();
    let dates: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["as_of"].as_str().unwrap())
        .collect();
    assert_eq!(dates, ["2026-02-01", "2026-01-05"]);
    let list = r
        .get("/v1/materials/GA/prices?from=2026-01-06&to=2026-02-01")
        .await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    let list = r.get("/v1/materials/GA/prices?to=2026-02-01&limit=1").await;
    assert_eq!(list["next"], "2026-02-01");
    let list = r.get("/v1/materials/GA/prices?after=2026-02-01").await;
    assert_eq!(list["items"][0]["as_of"], "2026-01-05");
    let res = r
        .app
        .get_as(&r.staff(), "/v1/materials/GA/prices?from=jan")
        .await;
    let body = assert_problem(res, 422, "validation_failed").await;
    assert_eq!(body["errors"][0]["field"], "from");

    // The material views show the latest mark.
    let ga = r.app.figures("GA").await;
    assert_eq!(ga["market_price_usd"], "10");
    assert_eq!(ga["market_price_as_of"], "2026-02-01");
    let ni = r.app.figures("NI").await;
    assert_eq!(ni["market_price_usd"], Value::Null);
    assert_eq!(ni["market_price_as_of"], Value::Null);
    let all = r.get("/v1/materials").await;
    assert_eq!(all["items"][0]["market_price_usd"], "10");
}

#[tokio::test]
async fn concentration_by_hand() {
    let r = Readiness::new().await;
    let op = r.app.token(Role::Operator, "op-1");
    assert_eq!(
        mark(&r.app, &op, "GA", "10", "2026-01-05").await.status(),
        201
    );
    let report = r.get("/v1/reports/concentration").await;
    // GA: 700 CN, 300 AU: HHI 70² + 30² = 5800.
    assert_eq!(
        report["materials"][0],
        json!({"material": "GA", "on_hand": "1000",
               "by_origin": [{"country": "CN", "quantity": "700", "share": "0.7"},
                             {"country": "AU", "quantity": "300", "share": "0.3"}],
               "leading_country": "CN", "leading_share": "0.7", "hhi": 5800, "alert": true})
    );
    assert_eq!(report["materials"][1]["hhi"], 10000);
    // Overall by value: only GA is priced (CN 7000 USD, AU 3000 USD); NI is listed.
    assert_eq!(
        report["overall"],
        json!({"by_origin": [{"country": "CN", "value_usd": "7000", "share": "0.7"},
                             {"country": "AU", "value_usd": "3000", "share": "0.3"}],
               "leading_country": "CN", "leading_share": "0.7", "hhi": 5800, "alert": true,
               "unpriced": ["NI"]})
    );
    // NI at 400 a kg adds 1000 USD from AU: CN 7/11 = 0.6364, HHI 650000/121 = 5371.9.
    assert_eq!(
        mark(&r.app, &op, "NI", "400", "2026-01-05").await.status(),
        201
    );
    let overall = &r.get("/v1/reports/concentration").await["overall"];
    assert_eq!(overall["by_origin"][0]["share"], "0.6364");
    assert_eq!(overall["by_origin"][1]["value_usd"], "4000");
    assert_eq!(overall["by_origin"][1]["share"], "0.3636");
    assert_eq!(overall["hhi"], 5372);
    assert_eq!(overall["unpriced"], json!([]));

    let lines = r
        .csv(
            r.app
                .get_as(&r.staff(), "/v1/reports/concentration?format=csv")
                .await,
        )
        .await;
    assert_eq!(
        lines[0],
        "material,alert,by_origin_1_country,by_origin_1_quantity,by_origin_1_share,\
         by_origin_2_country,by_origin_2_quantity,by_origin_2_share,hhi,leading_country,\
         leading_share,on_hand"
    );
    assert_eq!(lines[1], "GA,true,CN,700,0.7,AU,300,0.3,5800,CN,0.7,1000");
    assert_eq!(lines[2], "NI,true,AU,2.5,1,,,,10000,AU,1,2.5");
}
