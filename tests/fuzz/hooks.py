"""Schemathesis hooks for bin/fuzz-api (loaded with SCHEMATHESIS_HOOKS=tests.fuzz.hooks).

Random UUIDs in a path only ever reach the 404 branch. These hooks swap, three times in four,
a generated path parameter for a real id that the current role can see (or, a few of them,
one it cannot), read from FUZZ_IDS (written by tests/fuzz/prepare.py), so the fuzzer reaches the
code behind the 404: serializers, services, rules. The choice is a Hypothesis draw, so the
run's --seed still reproduces it.
"""

import json
import os
from pathlib import Path

import schemathesis
from hypothesis import strategies as st

_IDS = json.loads(Path(os.environ["FUZZ_IDS"]).read_text()) if os.environ.get("FUZZ_IDS") else {}


def _real_or_generated(generated, pool: list):
    if not pool:
        return st.just(generated)
    return st.integers(0, 3).flatmap(lambda n: st.just(generated) if n == 0 else st.sampled_from(pool))


def _record_types(context) -> set[str] | None:
    """The record kinds the operation's schema offers (PATCH offers fewer than GET), or None."""
    definition = getattr(getattr(context, "operation", None), "definition", None)
    for parameter in (getattr(definition, "raw", None) or {}).get("parameters", []):
        if parameter.get("name") == "record_type":
            return set(parameter.get("schema", {}).get("enum", [])) or None
    return None


@schemathesis.hook
def flatmap_path_parameters(context, path_parameters):
    if not isinstance(path_parameters, dict) or not path_parameters:
        return st.just(path_parameters)
    if "record_type" in path_parameters and "record_id" in path_parameters:
        # Only kinds the schema offers for this operation: a patient's record PATCH is not one (a 405).
        offered = _record_types(context)
        pairs = [pair for pair in _IDS.get("records", []) if offered is None or pair[0] in offered]
        return _real_or_generated((path_parameters["record_type"], path_parameters["record_id"]), pairs).map(
            lambda pair: {**path_parameters, "record_type": pair[0], "record_id": pair[1]}
        )
    strategy = st.just(dict(path_parameters))
    for name, generated in path_parameters.items():
        pool = _IDS.get(name, [])
        if pool:
            strategy = strategy.flatmap(
                lambda params, name=name, generated=generated, pool=pool: _real_or_generated(generated, pool).map(
                    lambda value: {**params, name: value}
                )
            )
    return strategy
