"""Broken variants of valid models, for the differential test of `ferry check` against onnx.checker
(test/onnx/check-differential.test.mjs).

Takes models of ONNX's conformance suite (libonnx-testdata) and a few built here (a model-local
function, a sparse initializer, external data), applies each mutation that fits (drop a field,
duplicate a name, truncate raw_data, an unknown domain...), writes every variant to OUT_DIR, checks
each with onnx.checker.check_model(path) and prints a JSON list: {file, base, mutation, onnx: null
or the checker's first error line, and for the models it accepts onnxFull: the same with
full_check=True (shape inference too)}. The unchanged models are in the list too (mutation "none").

    PYTHONPATH=.venv/onnx-ref .venv/bin/python test/onnx/check_mutants.py OUT_DIR
"""
import json
import os
import sys

import onnx
from onnx import AttributeProto, TensorProto, helper, numpy_helper
import numpy as np

SUITE = "/usr/share/libonnx-testdata/data"
BASES = [
    "node/test_conv_with_strides_padding", "node/test_if", "node/test_loop11", "node/test_scan9_sum",
    "node/test_constant", "node/test_batchnorm_example", "node/test_sequence_insert_at_back",
    "simple/test_sequence_model1", "pytorch-converted/test_Conv2d", "pytorch-operator/test_operator_add_broadcast",
    "node/test_layer_normalization_2d_axis0", "node/test_optional_get_element", "node/test_lstm_defaults",
    "node/test_reshape_extended_dims", "node/test_resize_upsample_scales_nearest", "node/test_cast_FLOAT_to_STRING",
]


# ---- models built here ---------------------------------------------------------------------------

def vi(name, elem=TensorProto.FLOAT, dims=(2,)):
    return helper.make_tensor_value_info(name, elem, list(dims))


def function_model():
    body = [helper.make_node("Mul", ["a", "a"], ["t"]), helper.make_node("Add", ["t", "a"], ["b"])]
    f = helper.make_function("com.x", "SquarePlus", ["a"], ["b"], body, [helper.make_opsetid("", 17)])
    g = helper.make_graph([helper.make_node("SquarePlus", ["x"], ["y"], domain="com.x", name="call")], "g", [vi("x")], [vi("y")])
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("com.x", 1)], ir_version=8, functions=[f])


def sparse_model():
    values = numpy_helper.from_array(np.array([1.0, 2.0], dtype=np.float32), "s")
    indices = numpy_helper.from_array(np.array([1, 3], dtype=np.int64), "s_i")
    g = helper.make_graph([helper.make_node("Add", ["x", "s"], ["y"], name="add")], "g", [vi("x", dims=(4,))], [vi("y", dims=(4,))])
    g.sparse_initializer.append(helper.make_sparse_tensor(values, indices, [4]))
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)


def external_model(folder):
    """Add(x, w) with w in w.bin next to the model (the mutations touch the TensorProto, not the file)."""
    w = numpy_helper.from_array(np.array([1.0, 2.0], dtype=np.float32), "w")
    with open(os.path.join(folder, "w.bin"), "wb") as f:
        f.write(w.raw_data)
    w.ClearField("raw_data")
    w.data_location = TensorProto.EXTERNAL
    w.external_data.add(key="location", value="w.bin")
    g = helper.make_graph([helper.make_node("Add", ["x", "w"], ["y"], name="add")], "g", [vi("x")], [vi("y")], [w])
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)


# ---- mutations: each changes the model in place; False when it does not apply --------------------

def tensor_inputs(m):
    return [v for v in m.graph.input if v.type.HasField("tensor_type")]


def first_attr(m, kind=None):
    for n in m.graph.node:
        for a in n.attribute:
            if kind is None or a.type == kind:
                return n, a
    return None, None


def subgraph(m):
    for n in m.graph.node:
        for a in n.attribute:
            if a.type == AttributeProto.GRAPH:
                return n, a.g
    return None, None


def m_none(m):
    return True


def m_graph_name(m):
    m.graph.name = ""
    return True


def m_input_shape(m):
    ins = tensor_inputs(m)
    if not ins or not ins[0].type.tensor_type.HasField("shape"):
        return False
    ins[0].type.tensor_type.ClearField("shape")
    return True


def m_input_type(m):
    if not m.graph.input:
        return False
    m.graph.input[0].ClearField("type")
    return True


def m_output_elem_type(m):
    o = m.graph.output[0]
    if not o.type.HasField("tensor_type"):
        return False
    o.type.tensor_type.ClearField("elem_type")
    return True


def m_input_twice(m):
    if not m.graph.input:
        return False
    m.graph.input.append(m.graph.input[0])
    return True


def m_output_ghost(m):
    m.graph.output.append(vi("ghost"))
    return True


def m_nodes_reversed(m):
    if len(m.graph.node) < 2:
        return False
    nodes = list(m.graph.node)[::-1]
    del m.graph.node[:]
    m.graph.node.extend(nodes)
    return True


def m_first_node_dropped(m):
    del m.graph.node[0]
    return True


def m_output_is_input(m):
    if not m.graph.input:
        return False
    m.graph.node[0].output[0] = m.graph.input[0].name
    return True


def m_input_undefined(m):
    n = m.graph.node[0]
    if not n.input:
        return False
    n.input[0] = "ghost"
    return True


def m_op_type_empty(m):
    m.graph.node[0].op_type = ""
    return True


def m_op_type_unknown(m):
    m.graph.node[0].op_type = "Frobnicate"
    return True


def m_domain_ai_onnx(m):
    m.graph.node[0].domain = "ai.onnx"
    return True


def m_domain_unimported(m):
    m.graph.node[0].domain = "com.ghost"
    return True


def m_extra_input(m):
    n = m.graph.node[0]
    n.input.append(n.input[0] if n.input else "x")
    return True


def m_node_no_io(m):
    n = m.graph.node[0]
    del n.input[:]
    del n.output[:]
    return True


def m_required_input_empty(m):
    n = m.graph.node[0]
    if not n.input:
        return False
    n.input[0] = ""
    return True


def m_attr_unknown(m):
    m.graph.node[0].attribute.append(helper.make_attribute("ferry_bogus", 1))
    return True


def m_attr_twice(m):
    n, a = first_attr(m)
    if not a:
        return False
    n.attribute.append(a)
    return True


def m_attr_no_type(m):
    _, a = first_attr(m)
    if not a:
        return False
    a.ClearField("type")
    return True


def m_attr_two_fields(m):
    _, a = first_attr(m)
    if not a:
        return False
    if a.type == AttributeProto.FLOAT:
        a.i = 1
    else:
        a.f = 1.0
    return True


def m_attr_type_mismatch(m):
    _, a = first_attr(m)
    if not a:
        return False
    a.type = AttributeProto.FLOAT if a.type != AttributeProto.FLOAT else AttributeProto.INT
    return True


def m_attrs_dropped(m):
    n = m.graph.node[0]
    if not n.attribute:
        return False
    del n.attribute[:]
    return True


def raw_initializer(m):
    for t in m.graph.initializer:
        if t.raw_data:
            return t
    return None


def m_raw_truncated(m):
    t = raw_initializer(m)
    if not t:
        return False
    t.raw_data = t.raw_data[:-1]
    return True


def m_raw_extended(m):
    t = raw_initializer(m)
    if not t:
        return False
    t.raw_data = t.raw_data + b"\0" * 4
    return True


def m_two_data_fields(m):
    t = raw_initializer(m)
    if not t or t.data_type != TensorProto.FLOAT:
        return False
    t.float_data.append(1.0)
    return True


def m_data_type_undefined(m):
    if not m.graph.initializer:
        return False
    m.graph.initializer[0].data_type = TensorProto.UNDEFINED
    return True


def m_initializer_twice(m):
    if not m.graph.initializer:
        return False
    m.graph.initializer.append(m.graph.initializer[0])
    return True


def m_initializer_no_name(m):
    if not m.graph.initializer:
        return False
    m.graph.initializer[0].name = ""
    return True


def m_initializer_not_input(m):
    if not m.graph.initializer or m.ir_version > 3:
        return False
    name = m.graph.initializer[0].name
    keep = [v for v in m.graph.input if v.name != name]
    del m.graph.input[:]
    m.graph.input.extend(keep)
    return True


def m_constant_string_raw(m):
    _, a = first_attr(m, AttributeProto.TENSOR)
    if not a:
        return False
    a.t.data_type = TensorProto.STRING
    return True


def m_ir_15(m):
    m.ir_version = 15
    return True


def m_no_opset_import(m):
    del m.opset_import[:]
    return True


def m_opset_1(m):
    for o in m.opset_import:
        if o.domain == "":
            o.version = 1
            return True
    return False


def m_opset_as_ai_onnx(m):
    for o in m.opset_import:
        if o.domain == "":
            o.domain = "ai.onnx"
            return True
    return False


def m_ir_2(m):
    m.ir_version = 2
    return True


def m_metadata_twice(m):
    m.metadata_props.add(key="k", value="1")
    m.metadata_props.add(key="k", value="2")
    return True


def m_subgraph_name(m):
    _, g = subgraph(m)
    if g is None:
        return False
    g.name = ""
    return True


def m_subgraph_outer_output(m):
    _, g = subgraph(m)
    if g is None or not m.graph.input:
        return False
    g.output[0].name = m.graph.input[0].name
    return True


def m_subgraph_input_undefined(m):
    _, g = subgraph(m)
    if g is None or not g.node or not g.node[0].input:
        return False
    g.node[0].input[0] = "ghost"
    return True


def fn(m):
    return m.functions[0] if len(m.functions) else None


def m_fn_recursive(m):
    f = fn(m)
    if not f:
        return False
    f.node[-1].op_type, f.node[-1].domain = f.name, f.domain
    f.opset_import.append(helper.make_opsetid(f.domain, 1))
    return True


def m_fn_no_domain(m):
    f = fn(m)
    if not f:
        return False
    f.ClearField("domain")
    return True


def m_fn_twice(m):
    f = fn(m)
    if not f:
        return False
    m.functions.append(f)
    return True


def m_fn_output_twice(m):
    f = fn(m)
    if not f:
        return False
    f.output.append(f.output[0])
    return True


def m_fn_input_undefined(m):
    f = fn(m)
    if not f:
        return False
    f.node[0].input[0] = "ghost"
    return True


def m_fn_imports_ai_onnx(m):
    f = fn(m)
    if not f:
        return False
    for o in f.opset_import:
        if o.domain == "":
            o.domain = "ai.onnx"
    return True


def sparse(m):
    return m.graph.sparse_initializer[0] if len(m.graph.sparse_initializer) else None


def m_sparse_unsorted(m):
    s = sparse(m)
    if not s:
        return False
    s.indices.CopyFrom(numpy_helper.from_array(np.array([3, 1], dtype=np.int64), "s_i"))
    return True


def m_sparse_out_of_range(m):
    s = sparse(m)
    if not s:
        return False
    s.indices.CopyFrom(numpy_helper.from_array(np.array([1, 4], dtype=np.int64), "s_i"))
    return True


def m_sparse_int32_indices(m):
    s = sparse(m)
    if not s:
        return False
    s.indices.CopyFrom(numpy_helper.from_array(np.array([1, 3], dtype=np.int32), "s_i"))
    return True


def m_sparse_twice(m):
    s = sparse(m)
    if not s:
        return False
    m.graph.sparse_initializer.append(s)
    return True


def external(m):
    for t in m.graph.initializer:
        if t.data_location == TensorProto.EXTERNAL:
            return t
    return None


def set_location(m, value):
    t = external(m)
    if not t:
        return False
    t.external_data[0].value = value
    return True


def m_external_missing_file(m):
    return set_location(m, "nowhere.bin")


def m_external_absolute(m):
    return set_location(m, "/etc/hostname")


def m_external_dotdot(m):
    return set_location(m, "../w.bin")


def m_external_no_location(m):
    t = external(m)
    if not t:
        return False
    del t.external_data[:]
    return True


def m_external_inline_too(m):
    t = external(m)
    if not t:
        return False
    t.raw_data = b"\0" * 8
    return True


MUTATIONS = [(name[2:], f) for name, f in globals().items() if name.startswith("m_")]


def verdict(path, full_check):
    """None when onnx.checker accepts the model, else its first error line."""
    try:
        onnx.checker.check_model(path, full_check=full_check)
        return None
    except Exception as e:  # ValidationError, InferenceError, and what onnx raises on files it cannot parse
        return (str(e).strip().splitlines() or [type(e).__name__])[0]


def main(out_dir):
    bases = []
    for rel in BASES:
        path = os.path.join(SUITE, rel, "model.onnx")
        if os.path.exists(path):
            bases.append((rel.split("/")[-1], onnx.load(path), None))
    bases.append(("function", function_model(), None))
    bases.append(("sparse", sparse_model(), None))
    bases.append(("external", None, external_model))
    cases = []
    for base, model, build in bases:
        for mutation, mutate in MUTATIONS:
            folder = out_dir
            if build:  # models with files beside them get a folder each
                folder = os.path.join(out_dir, f"{base}-{mutation}")
                os.makedirs(folder, exist_ok=True)
                m = build(folder)
            else:
                m = onnx.ModelProto()
                m.CopyFrom(model)
            if not mutate(m):
                continue
            path = os.path.join(folder, f"{base}-{mutation}.onnx")
            with open(path, "wb") as f:
                f.write(m.SerializeToString())
            cases.append({"file": path, "base": base, "mutation": mutation})
    # the checker's C++ prints warnings on stdout: keep them off the JSON
    out = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    for case in cases:
        case["onnx"] = verdict(case["file"], False)
        if case["onnx"] is None:
            case["onnxFull"] = verdict(case["file"], True)
    json.dump({"onnx": onnx.__version__, "cases": cases}, out)
    out.close()


if __name__ == "__main__":
    main(sys.argv[1])
