"""Template navigation shared by the infra tests: functions by manifest entry, their roles' statements."""

from __future__ import annotations

from typing import Any, Iterator

from bazaar.manifest import FUNCTIONS, Function
from bazaar.resources import function_name

from .conftest import Json, Synth


def functions(s: Synth) -> dict[str, tuple[str, Json]]:
    """manifest name → (logical id, properties) of its Lambda."""
    by_name = {r["Properties"]["FunctionName"]: (lid, r["Properties"])
               for lid, r in s.resources("AWS::Lambda::Function", "stateless").items()}
    return {fn.name: by_name[function_name(s.stage, fn)] for fn in FUNCTIONS}


def as_list(x: Any) -> list[Any]:
    return x if isinstance(x, list) else [x]


def role_statements(s: Synth, role_lid: str) -> list[Json]:
    """Allow statements of a role: its inline policies and every AWS::IAM::Policy attached to it."""
    role = s.stateless["Resources"][role_lid]["Properties"]
    docs = [p["PolicyDocument"] for p in role.get("Policies", [])]
    docs += [r["Properties"]["PolicyDocument"] for r in s.resources("AWS::IAM::Policy", "stateless").values()
             if {"Ref": role_lid} in r["Properties"].get("Roles", [])]
    return [st for d in docs for st in d["Statement"] if st["Effect"] == "Allow"]


def function_statements(s: Synth, fn: Function) -> list[Json]:
    _, props = functions(s)[fn.name]
    return role_statements(s, props["Role"]["Fn::GetAtt"][0])


def actions(statements: list[Json]) -> set[str]:
    return {a for st in statements for a in as_list(st["Action"])}


def statements_with(statements: list[Json], action: str) -> Iterator[Json]:
    return (st for st in statements if action in as_list(st["Action"]))


def logical_id(s: Synth, type_: str, stack: str, **props: Any) -> str:
    """The one resource of ``type_`` whose properties include ``props``."""
    found = [lid for lid, r in s.resources(type_, stack).items()
             if all(r["Properties"].get(k) == v for k, v in props.items())]
    assert len(found) == 1, f"{type_} with {props}: {found}"
    return found[0]
