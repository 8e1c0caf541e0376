"""The console in headless Chromium (Debian's, not Playwright's builds): the issue-20 flows,
XSS payloads shown as text, axe-core on every page, screenshots and page data load timings.

usage: test_console.py BASE_URL  (STOCKPILE_BIN and the server's STOCKPILE__* in the env)
"""

import json
from datetime import date
import os
import statistics
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect, sync_playwright

BASE = sys.argv[1]
ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "target" / "console-shots"
SHOTS.mkdir(parents=True, exist_ok=True)
ROUNDS = int(os.environ.get("CONSOLE_ROUNDS", "5"))
SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(1)>'


def token(role, sub, org=None):
    args = [os.environ["STOCKPILE_BIN"], "token", "--role", role, "--sub", sub]
    if org:
        args += ["--org", org]
    return subprocess.run(args, check=True, capture_output=True, text=True).stdout.strip()


SEQ = [0]


def api(method, path, tok, body=None):
    SEQ[0] += 1
    headers = {"authorization": f"Bearer {tok}", "idempotency-key": f"seed-{SEQ[0]}"}
    data = None
    if body is not None:
        headers["content-type"] = "application/json"
        data = json.dumps(body).encode()
    req = urllib.request.Request(BASE + path, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req) as r:
            return json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        sys.exit(f"seeding {method} {path}: {e.code} {e.read().decode()}")


ADMIN = token("admin", "console-admin")
OP1 = token("operator", "op1")
OP2 = token("operator", "op2")
AUDITOR = token("auditor", "aud1")

# A small reserve, with the XSS payloads in names.
api("POST", "/v1/materials", ADMIN, {"code": "DY_OXIDE", "name": SCRIPT, "unit": "kg", "scale": 3, "strategic_floor": "1000"})
api("POST", "/v1/materials", ADMIN, {"code": "GA", "name": "Gallium", "unit": "kg", "scale": 3, "strategic_floor": "500"})
api("POST", "/v1/materials/DY_OXIDE/prices", ADMIN, {"price_usd": "300", "as_of": date.today().isoformat(), "source": "console test"})
api("POST", "/v1/facilities", ADMIN, {"code": "NV1", "name": IMG, "country": "US"})
api("POST", "/v1/lots", OP1, {"material": "DY_OXIDE", "facility": "NV1", "quantity": "6000", "grade": "99.5", "origin_country": "AU", "supplier": "Lynas", "unit_cost_usd": "300"})
api("POST", "/v1/lots", OP1, {"material": "DY_OXIDE", "facility": "NV1", "quantity": "4000", "grade": "99.5", "origin_country": "MY", "supplier": "Lynas", "unit_cost_usd": "290"})
api("POST", "/v1/lots", OP1, {"material": "GA", "facility": "NV1", "quantity": "3000", "grade": "99.99", "origin_country": "JP", "supplier": "Dowa", "unit_cost_usd": "700"})
M = api("POST", "/v1/manufacturers", ADMIN, {"name": IMG, "priority_tier": "defense"})["id"]
api("PUT", f"/v1/manufacturers/{M}/allocations/DY_OXIDE", ADMIN, {"quantity": "2000", "locked_price_usd": "310", "monthly_consumption": "300"})
MFR = token("manufacturer", "acme-erp", M)

failures = []
timings = {}


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what)


with sync_playwright() as pw:
    browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
    ctx = browser.new_context(viewport={"width": 1280, "height": 800})
    dialogs, errors = [], []
    axe = Axe()
    axe_pages = set()

    def new_page(c=ctx):
        p = c.new_page()
        p.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        p.on("pageerror", lambda e: errors.append(str(e)))
        p.on("console", lambda m: m.type == "error" and errors.append(m.text))
        return p

    def sign_in(p, tok):
        p.goto(f"{BASE}/console")
        p.wait_for_selector("main[data-loaded=signin]")
        p.get_by_label("Access token").fill(tok)
        p.get_by_role("button", name="Sign in").click()
        p.wait_for_selector("main[data-loaded]:not([data-loaded=signin])")

    def visit(p, name, query=""):
        p.goto(f"{BASE}/console#/{name}{query}")
        p.wait_for_selector(f"main[data-loaded={name}]")

    def accessible(p, label):
        if label in axe_pages:
            return
        axe_pages.add(label)
        res = axe.run(p)
        print(f"axe {label}: {len(res.response['passes'])} rules passed; violated:",
              [f"{v['id']} ({v['impact']})" for v in res.response["violations"]] or "none")
        bad = [v for v in res.response["violations"] if v["impact"] in ("serious", "critical")]
        for v in bad:
            print(f"axe {label}: {v['impact']} {v['id']}: {v['help']} ({len(v['nodes'])} nodes)")
        check(not bad, f"axe: no serious or critical violation on {label}")

    def time_pages(p, names, away=None):
        for name in names:
            for _ in range(ROUNDS):
                visit(p, away or ("audit" if name != "audit" else "overview"))  # away, then afresh
                p.evaluate("performance.clearMeasures()")
                visit(p, name)
                ms = p.evaluate("n => performance.getEntriesByName('data:' + n).map(e => e.duration)", name)
                check(len(ms) >= 1, f"{name} measured its data load")
                timings.setdefault(name, []).append(max(ms))  # a page's calls run side by side

    # ---- sign-in page, and a bad token refused --------------------------------------------
    p = new_page()
    p.goto(f"{BASE}/console")
    p.wait_for_selector("main[data-loaded=signin]")
    accessible(p, "signin")
    p.get_by_label("Access token").fill("not-a-token")
    p.get_by_role("button", name="Sign in").click()
    expect(p.locator("main")).to_contain_text("sign in again")
    check(p.evaluate("sessionStorage.length") == 0, "a refused token is not kept")

    # ---- operator 1 proposes, operator 2 confirms -----------------------------------------
    sign_in(p, OP1)
    check(p.evaluate("sessionStorage.length") == 1, "the token lives in sessionStorage")
    check("ey" not in p.url, "the token is not in the URL")
    visit(p, "disruptions")
    accessible(p, "disruptions")
    p.get_by_label("Title").fill("Export controls " + SCRIPT)
    p.get_by_label("Materials").fill("DY_OXIDE")
    p.get_by_label("Severity").select_option("severe")
    p.get_by_label("Reason").fill("licences halted")
    propose = p.get_by_role("button", name="Propose")
    propose.dblclick()  # a double click applies once (one Idempotency-Key per action)
    expect(p.locator(".notice")).to_contain_text("a second operator must confirm it")
    p.wait_for_selector("main[data-loaded=disruptions]")
    rows = p.locator("tbody tr")
    expect(rows).to_have_count(1)
    expect(p.get_by_text("Export controls " + SCRIPT, exact=True)).to_be_visible()
    p.get_by_role("button", name="Sign out").click()
    p.wait_for_selector("main[data-loaded=signin]")
    check(p.evaluate("sessionStorage.length") == 0, "sign-out forgets the token")

    sign_in(p, OP2)
    visit(p, "disruptions")
    p.get_by_role("button", name="Confirm").click()
    expect(p.locator(".notice")).to_contain_text("now active")
    p.wait_for_selector("main[data-loaded=disruptions]")
    expect(p.locator("tbody tr").first).to_contain_text("confirmed by op2")
    p.screenshot(path=str(SHOTS / "disruptions.png"))

    # ---- the manufacturer: a refusal with its rule, then a drawdown submitted --------------
    m = new_page()
    sign_in(m, MFR)
    m.wait_for_selector("main[data-loaded=mine]")
    accessible(m, "mine")
    m.get_by_label("Quantity").fill("5000")
    m.get_by_label("Justification").fill("magnet line stopped")
    m.get_by_role("button", name="Submit request").click()
    refusal = m.locator(".problem")
    expect(refusal).to_contain_text("Refused by a rule")
    expect(refusal).to_contain_text("allocation_exceeded")
    expect(refusal).to_contain_text("The rule’s figures: ")
    expect(refusal).to_contain_text("requested 5,000")
    m.locator("form", has=refusal).screenshot(path=str(SHOTS / "refusal.png"))
    m.get_by_label("Quantity").fill("1500")
    m.get_by_label("Needed by").fill("2027-01-15")
    m.get_by_role("button", name="Submit request").click()
    expect(m.locator(".notice")).to_contain_text("pending approval")
    m.wait_for_selector("main[data-loaded=mine]")
    ours = m.locator("section", has_text="Our drawdowns").locator("tbody tr")
    expect(ours).to_have_count(1)
    # A second request, cancelled: the hold goes back.
    m.get_by_label("Quantity").fill("100")
    m.get_by_label("Needed by").fill("")
    m.get_by_label("Justification").fill("spare parts")
    m.get_by_role("button", name="Submit request").click()
    expect(ours).to_have_count(2)
    ours.nth(1).get_by_role("button", name="Cancel").click()
    expect(m.locator(".notice")).to_contain_text("Cancelled the drawdown of 100")
    expect(ours.nth(1)).to_contain_text("cancelled")
    expect(m.get_by_role("button", name="Cancel")).to_have_count(1)
    check(m.get_by_role("link", name="Approvals").count() == 0, "a manufacturer has no approvals page")

    # ---- operator approves (lower quantity); the obligation appears ------------------------
    visit(p, "approvals")
    accessible(p, "approvals")
    row = p.locator("tbody tr").first
    expect(row).to_contain_text(IMG)
    expect(row).to_contain_text("1,500 kg")
    expect(row).to_contain_text("465,000.00 USD")  # 1,500 × 310 locked price
    p.screenshot(path=str(SHOTS / "approvals.png"))
    row.get_by_label("Quantity (kg, at most 1,500)").fill("1200")
    row.get_by_role("button", name="Approve").click()
    expect(p.locator(".notice")).to_contain_text("obligation")
    expect(p.locator(".notice")).to_contain_text("Released 1,200 kg")
    visit(p, "obligations")
    accessible(p, "obligations")
    ob = p.locator("tbody tr").first
    expect(ob).to_contain_text("1,260 kg")  # 1,200 + 5 % premium
    expect(ob).to_contain_text(IMG)
    visit(p, "overview")
    accessible(p, "overview")
    expect(p.get_by_text(SCRIPT).first).to_be_visible()
    p.screenshot(path=str(SHOTS / "overview.png"), full_page=True)
    visit(p, "reports")
    accessible(p, "reports")
    if p.get_by_role("link", name="Valuation").count():  # the economics reports, once merged
        p.get_by_role("link", name="Valuation").click()
        p.wait_for_selector("main[data-loaded=report]")
        expect(p.locator("main")).to_contain_text("2,640,000 USD")  # 8,800 kg × 300 USD
        accessible(p, "valuation")
    visit(p, "ledger")
    p.get_by_role("button", name="Verify the chain").click()
    expect(p.locator("main")).to_contain_text("verified: every hash")
    accessible(p, "ledger")
    visit(p, "audit", "?action=drawdown.approve")
    accessible(p, "audit")
    expect(p.locator("tbody tr")).to_have_count(1)
    expect(p.locator("tbody tr")).to_contain_text("op2")

    # Record the replenishment in the console.
    visit(p, "obligations")
    ob = p.locator("tbody tr").first
    ob.get_by_label("Quantity (kg)").fill("1260")
    ob.get_by_label("Grade (%)").fill("99.5")
    ob.get_by_role("button", name="Record").click()
    expect(p.locator(".notice")).to_contain_text("Recorded 1,260 kg")
    p.wait_for_selector("main[data-loaded=obligations]")
    expect(p.locator("main")).to_contain_text("No obligations.")  # settled: not open any more

    # The disruption ends, in the console too.
    visit(p, "disruptions")
    p.get_by_role("button", name="End").click()
    expect(p.locator(".notice")).to_contain_text("now ended")

    # Narrow screen: the manufacturer's view at 390×844.
    m.set_viewport_size({"width": 390, "height": 844})
    visit(m, "mine")
    m.screenshot(path=str(SHOTS / "mine-390.png"), full_page=False)
    check(m.evaluate("document.documentElement.scrollWidth") <= 390 + 1, "no sideways scrolling at 390 px")

    # ---- the auditor: every page, no action buttons; verify and export -------------------------
    a_ctx = browser.new_context(viewport={"width": 1280, "height": 800}, accept_downloads=True)
    a = new_page(a_ctx)
    sign_in(a, AUDITOR)
    for name in ["overview", "approvals", "disruptions", "obligations", "ledger", "audit", "reports"]:
        visit(a, name)
        for label in ["Approve", "Reject", "Confirm", "End", "Propose", "Record", "Cancel", "Submit request"]:
            check(a.get_by_role("button", name=label, exact=True).count() == 0, f"auditor sees no {label} button on {name}")
    visit(a, "ledger")
    a.get_by_role("button", name="Verify the chain").click()
    expect(a.locator("main")).to_contain_text("verified: every hash")
    with a.expect_download() as dl:
        a.get_by_role("button", name="Download").click()
    path = dl.value.path()
    lines = Path(path).read_text().splitlines()
    check(len(lines) > 3 and json.loads(lines[0])["seq"] == 1, "the auditor's export downloads the journal")

    # ---- 401 returns to sign-in ------------------------------------------------------------------
    a.evaluate("sessionStorage.setItem('stockpile.token', 'expired')")
    visit_name = "overview"
    a.goto(f"{BASE}/console#/{visit_name}")
    a.wait_for_selector("main[data-loaded=signin]")
    expect(a.locator(".notice")).to_contain_text("sign in again")

    # ---- every operator page at 390×844: no sideways scrolling ------------------------------
    p.set_viewport_size({"width": 390, "height": 844})
    for name in ["overview", "approvals", "disruptions", "obligations", "ledger", "audit", "reports"]:
        visit(p, name)
        width = p.evaluate("document.documentElement.scrollWidth")
        check(width <= 391, f"{name} fits 390 px (scroll width {width})")
    p.set_viewport_size({"width": 1280, "height": 800})

    # ---- timings -------------------------------------------------------------------------------
    time_pages(p, ["overview", "approvals", "disruptions", "obligations", "ledger", "audit", "reports"])
    time_pages(m, ["mine"], away="overview")

    check(not dialogs, f"no dialog fired (got {dialogs})")
    check(not [e for e in errors if "401" not in e and "422" not in e], f"no script errors (got {errors})")
    browser.close()

print("page data load (the page's API calls, between performance marks), median of", ROUNDS, "visits (ms):")
for name, ms in timings.items():
    print(f"  {name:12} {statistics.median(ms):7.1f}  (max {max(ms):.1f}, n={len(ms)})")
if failures:
    print(f"{len(failures)} check(s) failed", file=sys.stderr)
    sys.exit(1)
print("console test passed")
