"""Seeds the contract test's reserve through the API, so that generated requests can name
objects that exist, and writes their identifiers to the JSON file named by CONTRACT_SEED.

usage: seed.py BASE_URL"""

import json
import os
import sys
import uuid

import requests

from tokens import token

BASE = sys.argv[1]
ADMIN = token("admin", "contract-admin")
SECOND = token("admin", "contract-admin-2")


def call(method: str, path: str, body=None, as_=ADMIN, expect=(200, 201)) -> dict:
    res = requests.request(
        method,
        BASE + path,
        json=body,
        headers={"Authorization": f"Bearer {as_}", "Idempotency-Key": str(uuid.uuid4())},
        timeout=30,
    )
    if res.status_code not in expect:
        sys.exit(f"seed: {method} {path} answered {res.status_code}: {res.text}")
    return res.json()


ids: dict[str, list[str]] = {}


def keep(kind: str, value: str) -> str:
    ids.setdefault(kind, []).append(value)
    return value


for code, unit, scale, floor in [("LI", "kg", 3, "1000"), ("CO", "t", 2, "10")]:
    call("POST", "/v1/materials", {"code": code, "name": f"Material {code}", "unit": unit,
                                   "scale": scale, "strategic_floor": floor})
    keep("materials", code)
for code in ["NV1", "TX2"]:
    call("POST", "/v1/facilities", {"code": code, "name": f"Depot {code}", "country": "US"})
    keep("facilities", code)

loan = keep("loan-facilities", call("POST", "/v1/loan-facilities", {
    "lender": "Export-Import Bank", "kind": "direct_loan", "commitment_usd": "100000000.00",
    "annual_rate": "0.0475", "day_count": "ACT/360", "availability_end": "2030-12-31",
    "maturity_date": "2040-12-31"})["id"])
tranche = keep("tranches", call("POST", f"/v1/loan-facilities/{loan}/tranches", {
    "amount_usd": "50000000.00", "available_from": "2026-01-01", "purpose": "purchases"})["id"])
call("POST", f"/v1/tranches/{tranche}/disbursements",
     {"amount_usd": "1000000.00", "value_date": "2026-02-01"})

for material, facility, quantity in [("LI", "NV1", "100000"), ("LI", "TX2", "50000"),
                                     ("CO", "NV1", "5000")]:
    keep("lots", call("POST", "/v1/lots", {
        "material": material, "facility": facility, "quantity": quantity, "grade": "99.5",
        "origin_country": "AU", "supplier": "Contract Mining", "unit_cost_usd": "12.5",
        "received_at": "2026-01-15T00:00:00Z"})["id"])

maker = keep("manufacturers", call("POST", "/v1/manufacturers",
                                   {"name": "Contract Motors", "priority_tier": "defense"})["id"])
keep("manufacturers", call("POST", "/v1/manufacturers",
                           {"name": "Contract Cells", "priority_tier": "commercial"})["id"])
for material in ["LI", "CO"]:
    call("PUT", f"/v1/manufacturers/{maker}/allocations/{material}",
         {"quantity": "20000", "locked_price_usd": "30.5"})
call("POST", f"/v1/manufacturers/{maker}/fees", {"kind": "entry", "amount_usd": "2500.00"})

active = keep("disruptions", call("POST", "/v1/disruptions", {
    "title": "Export ban", "materials": ["LI", "CO"], "severity": "severe",
    "reason": "export licences suspended"})["id"])
call("POST", f"/v1/disruptions/{active}/confirm", as_=SECOND)
keep("disruptions", call("POST", "/v1/disruptions", {
    "title": "Port strike", "materials": ["CO"], "severity": "limited", "reason": "strike"})["id"])

MAKER = token("manufacturer", "contract-maker", org=maker)
for quantity in ["10", "20", "30"]:
    keep("drawdowns", call("POST", "/v1/drawdowns", {
        "material": "LI", "quantity": quantity, "justification": "cell line"}, as_=MAKER)["id"])
released = call("POST", f"/v1/drawdowns/{ids['drawdowns'][0]}/approve", {}, as_=SECOND)
keep("obligations", released["obligation_id"])

with open(os.environ["CONTRACT_SEED"], "w") as out:
    json.dump({"ids": ids, "manufacturer": maker}, out)
