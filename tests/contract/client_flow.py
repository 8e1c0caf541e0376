"""Drives the whole drawdown flow through a client generated from /openapi.json alone
(openapi-python-client), to show the document is complete enough to write a client against.

usage: client_flow.py BASE_URL   (the generated package `stockpile_client` on PYTHONPATH)"""

import sys
import uuid

from stockpile_client import AuthenticatedClient
from stockpile_client.api.disruptions import confirm, propose
from stockpile_client.api.drawdowns import approve, get_drawdown, submit
from stockpile_client.api.inventory import receive
from stockpile_client.api.ledger_and_audit import verify
from stockpile_client.api.manufacturers import create_manufacturer, put_allocation
from stockpile_client.api.obligations import get_obligation
from stockpile_client.api.reference_data import create_facility, create_material, get_material
from stockpile_client.models import (
    AllocationInput,
    ApproveInput,
    FacilityInput,
    LotRequest,
    ManufacturerInput,
    MaterialInput,
    NoFields,
    Proposal,
    Submission,
)

from tokens import token

BASE = sys.argv[1]


def client(role: str, sub: str, org: str | None = None) -> AuthenticatedClient:
    return AuthenticatedClient(base_url=BASE, token=token(role, sub, org), raise_on_unexpected_status=True)


def ok(response, status: int):
    """The parsed body of a response that must have `status`."""
    assert response.status_code == status, (response.status_code, response.content)
    return response.parsed


def key() -> str:
    return str(uuid.uuid4())


admin = client("admin", "flow-admin")
op1, op2 = client("operator", "flow-op1"), client("operator", "flow-op2")
code = "FLOW_" + uuid.uuid4().hex[:8].upper()

ok(create_material.sync_detailed(client=admin, idempotency_key=key(), body=MaterialInput.from_dict(
    {"code": code, "name": f"Flow oxide {code}", "unit": "kg", "scale": 3, "strategic_floor": "100"})), 201)
ok(create_facility.sync_detailed(client=admin, idempotency_key=key(), body=FacilityInput.from_dict(
    {"code": code, "name": f"Flow depot {code}", "country": "US"})), 201)
ok(receive.sync_detailed(client=op1, idempotency_key=key(), body=LotRequest.from_dict(
    {"material": code, "facility": code, "quantity": "1000", "grade": "99.5", "origin_country": "AU",
     "supplier": "Flow Mining", "unit_cost_usd": "300"})), 201)
maker = ok(create_manufacturer.sync_detailed(client=admin, idempotency_key=key(), body=ManufacturerInput.from_dict(
    {"name": f"Flow Magnetics {code}", "priority_tier": "defense"})), 201)
ok(put_allocation.sync_detailed(maker.id, code, client=admin, body=AllocationInput.from_dict(
    {"quantity": "400", "locked_price_usd": "310"})), 200)
disruption = ok(propose.sync_detailed(client=op1, idempotency_key=key(), body=Proposal.from_dict(
    {"title": "Export controls", "materials": [code], "severity": "severe", "reason": "licences halted"})), 201)
# The generated client sends Content-Type: application/json even when an optional body is left
# out, and an empty body declared JSON is 400: commands with no fields are sent `{}`.
active = ok(confirm.sync_detailed(disruption.id, client=op2, idempotency_key=key(), body=NoFields()), 200)
assert active.to_dict()["status"] == "active", active.to_dict()

mfr = client("manufacturer", "flow-erp", org=str(maker.id))
drawdown = ok(submit.sync_detailed(client=mfr, idempotency_key=key(), body=Submission.from_dict(
    {"material": code, "quantity": "150", "justification": "magnet line stopped"})), 201)
assert drawdown.to_dict()["status"] == "pending_approval", drawdown.to_dict()
held = ok(get_material.sync_detailed(code, client=mfr), 200)
assert held.held == "150", held.to_dict()

released = ok(approve.sync_detailed(drawdown.id, client=op1, idempotency_key=key(), body=ApproveInput()), 200)
view = released.to_dict()
assert view["status"] == "released", view
assert [p["quantity"] for p in view["picks"]] == ["150"], view
seen = ok(get_drawdown.sync_detailed(drawdown.id, client=mfr), 200)
assert seen.to_dict()["status"] == "released"
obligation = ok(get_obligation.sync_detailed(view["obligation_id"], client=mfr), 200).to_dict()
assert obligation["quantity_due"] == "157.5" and obligation["status"] == "open", obligation
after = ok(get_material.sync_detailed(code, client=mfr), 200)
assert (after.on_hand, after.held) == ("850", "0"), after.to_dict()
report = ok(verify.sync_detailed(client=client("auditor", "flow-auditor")), 200)
assert report.to_dict()["ok"] is True, report.to_dict()
print(f"generated client: drawdown {drawdown.id} of {code} submitted, approved, released; ledger verifies")
