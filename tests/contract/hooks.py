"""schemathesis hooks for the contract test (loaded through SCHEMATHESIS_HOOKS).

- Every request carries a token of a role that may call the operation: the manufacturer's
  for submitting and cancelling drawdowns, an admin's for everything else.
- Path parameters are drawn half from what schemathesis generates and half from the objects
  that seed.py created, so that requests reach real objects and not only 404s."""

import json
import os

import schemathesis
from hypothesis import strategies as st

from tokens import token

SEED = json.load(open(os.environ["CONTRACT_SEED"]))
ADMIN = token("admin", "contract-admin")
MAKER = token("manufacturer", "contract-maker", org=SEED["manufacturer"])
MANUFACTURER_OPERATIONS = {("POST", "/v1/drawdowns"), ("POST", "/v1/drawdowns/{id}/cancel")}


@schemathesis.auth(refresh_interval=None)
class ByRole:
    def get(self, case, ctx):
        op = ctx.operation
        return MAKER if (op.method.upper(), op.path) in MANUFACTURER_OPERATIONS else ADMIN

    def set(self, case, data, ctx):
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}


def _seeded(path: str, name: str) -> list[str]:
    """The seeded values that fit parameter `name` of `path` (/v1/<kind>/{id}/...)."""
    if name == "material_code":
        return SEED["ids"]["materials"]
    kind = path.split("/")[2]
    return SEED["ids"].get(kind, [])


@schemathesis.hook
def flatmap_path_parameters(ctx, params):
    if not params:
        return st.just(params)
    seeded = {name: _seeded(ctx.operation.path, name) for name in params}
    if not any(seeded.values()):
        return st.just(params)
    real = st.fixed_dictionaries(
        {name: st.sampled_from(v) if v else st.just(params[name]) for name, v in seeded.items()}
    )
    return st.one_of(st.just(params), real)
