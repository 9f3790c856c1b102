"""Dumps the ONNX operator schemas (every domain, every since_version) to data/onnx-schemas.json.

The checker (`ferry check`) reads this table to know each operator's inputs, outputs, attributes
and type constraints for the opset a model imports. Made from the newest onnx on PyPI (1.23.2 when committed: opsets up to 24), so models from newer
exporters check too; the schema history also covers every older opset. Besides what OpSchema exposes,
it asks onnx.checker which input/output counts a schema allows (BatchNormalization: 1 or 5 outputs)
and which schemas let any attribute through (LayerNormalization-17). Regenerate with the onnx that
.ci/run installs as the checker's reference:
    .venv/bin/pip install --target .venv/onnx-ref onnx==1.23.2
    PYTHONPATH=.venv/onnx-ref .venv/bin/python tools/gen_onnx_schemas.py data/onnx-schemas.json
"""
import json
import sys

import onnx
from onnx import defs

OPTION = {
    defs.OpSchema.FormalParameterOption.Single: "single",
    defs.OpSchema.FormalParameterOption.Optional: "optional",
    defs.OpSchema.FormalParameterOption.Variadic: "variadic",
}


def attr_type(t):
    return str(t).split(".")[-1].lower()  # AttrType.FLOAT -> float


def params(ps):
    out = []
    for p in ps:
        # onnx < 1.14 spells these typeStr / isHomogeneous
        entry = {"name": p.name, "type": getattr(p, "type_str", None) or p.typeStr, "option": OPTION[p.option]}
        if p.option == defs.OpSchema.FormalParameterOption.Variadic:
            entry["homogeneous"] = bool(getattr(p, "is_homogeneous", None) if hasattr(p, "is_homogeneous") else p.isHomogeneous)
        out.append(entry)
    return out


def verify_error(s, inputs, outputs, attributes=()):
    """What onnx.checker.check_node says of a node of schema `s` with that many inputs and outputs; '' when it passes."""
    node = onnx.helper.make_node(s.name, [f"i{k}" for k in range(inputs)], [f"o{k}" for k in range(outputs)], domain=s.domain)
    for name in attributes:
        node.attribute.append(onnx.helper.make_attribute(name, 1))
    ctx = onnx.checker.C.CheckerContext()
    ctx.ir_version = onnx.IR_VERSION
    ctx.opset_imports = {s.domain: s.since_version}
    try:
        onnx.checker.check_node(node, ctx)
    except onnx.checker.ValidationError as e:
        return str(e)
    return ""


def allowed_counts(s, kind):
    """The counts in [min, max] Verify accepts, when it accepts fewer than all of them (NumOutputs({1, 5}):
    BatchNormalization); None otherwise. onnx's Python API does not expose the allowed-count sets, so ask the checker."""
    lo, hi = (s.min_input, s.max_input) if kind == "input" else (s.min_output, s.max_output)
    if hi >= 2**31 - 1 or s.deprecated or hi - lo > 16:
        return None
    other = s.min_output if kind == "input" else s.min_input
    allowed = []
    for n in range(lo, hi + 1):
        err = verify_error(s, n, other) if kind == "input" else verify_error(s, other, n)
        if f"not in allowed {kind} sizes" not in err:
            allowed.append(n)
    return allowed if len(allowed) < hi - lo + 1 else None


def unchecked_attributes(s):
    """True for schemas registered with AllowUncheckedAttributes (any attribute passes the checker)."""
    if s.deprecated:
        return False
    return "Unrecognized attribute" not in verify_error(s, s.min_input, s.min_output, ["ferry_probe_attribute"])


def schema(s):
    extra = {}
    for kind in ("input", "output"):
        allowed = allowed_counts(s, kind)
        if allowed is not None:
            extra[f"allowed{kind.capitalize()}s"] = allowed
    if unchecked_attributes(s):
        extra["uncheckedAttributes"] = True
    return extra | {
        "domain": s.domain or "ai.onnx",
        "name": s.name,
        "since": s.since_version,
        "deprecated": bool(s.deprecated),
        "minInputs": s.min_input,
        "maxInputs": s.max_input if s.max_input < 2**31 - 1 else None,
        "minOutputs": s.min_output,
        "maxOutputs": s.max_output if s.max_output < 2**31 - 1 else None,
        "inputs": params(s.inputs),
        "outputs": params(s.outputs),
        "attributes": {
            name: {"type": attr_type(a.type), "required": bool(a.required)}
            for name, a in sorted(s.attributes.items())
        },
        "typeConstraints": {c.type_param_str: sorted(c.allowed_type_strs) for c in s.type_constraints},
        "function": bool(s.has_function or s.has_context_dependent_function),
    }


def main(path):
    all_schemas = sorted(defs.get_all_schemas_with_history(), key=lambda s: (s.domain, s.name, s.since_version))
    table = {"onnx": onnx.__version__, "schemas": [schema(s) for s in all_schemas]}
    domains = {}
    for s in table["schemas"]:
        domains[s["domain"]] = max(domains.get(s["domain"], 0), s["since"])
    table["maxOpset"] = domains
    with open(path, "w") as f:
        json.dump(table, f, separators=(",", ":"), sort_keys=True)
    print(f"{len(table['schemas'])} schemas from onnx {onnx.__version__} -> {path}", file=sys.stderr)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "data/onnx-schemas.json")
