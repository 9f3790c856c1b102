"""Dumps the ONNX operator schemas (every domain, every since_version) to data/onnx-schemas.json.

The checker (`ferry check`) reads this table to know each operator's inputs, outputs, attributes
and type constraints for the opset a model imports. Made from the newest onnx on PyPI (1.23.2 when committed: opsets up to 24), so models from newer
exporters check too; the schema history also covers every older opset. Regenerate with:
    python3 -m venv /tmp/onnx && /tmp/onnx/bin/pip install onnx
    /tmp/onnx/bin/python tools/gen_onnx_schemas.py data/onnx-schemas.json
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


def schema(s):
    return {
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
