"""`export`: MODULE.py:FACTORY -> ONNX or TorchScript, with a trace check and a parity report.

The trace check is the answer to torch.jit.trace's silent failure mode: tracing records the ops one
example input happened to run, so `if x.sum() > 0: ... else: ...` becomes whichever branch that
input took (PyTorch's own tutorial, MyDecisionGate). After tracing we run eager and traced on
several inputs (sign-flipped, scaled, fresh); any disagreement means control flow was frozen.
`--method trace` then stops with the evidence; `--method auto` falls back to torch.jit.script.
The ONNX exporter traces too, so the same check guards `--to onnx`.
"""
import json
import os
import warnings

import torch

from ferry_bridge.cli import BridgeError, TraceDiverged, UsageError, say, wrap_user
from ferry_bridge.common import (
    PARITY_ATOL, PARITY_RTOL, TRACE_CHECK_VARIANTS, Timer, diff_stats, input_names,
    load_factory, make_inputs, run_model, save_npz,
)

#: torch dtype names -> KServe v2 datatypes (what ferry's libtorch engine reads in ferry.json).
V2_DATATYPES = {
    "float32": "FP32", "float64": "FP64", "float16": "FP16", "int64": "INT64", "int32": "INT32",
    "int16": "INT16", "int8": "INT8", "uint8": "UINT8", "bool": "BOOL",
}
#: The extra file in a TorchScript archive that records its signature, and its format.
SIGNATURE_FILE, SIGNATURE_FORMAT = "ferry.json", "ferry-torchscript/1"

#: Tolerance of the trace check (eager vs traced run the same kernels: differences are real).
CHECK_ATOL, CHECK_RTOL = 1e-5, 1e-4
TRACE_EXAMPLE_SEED, PARITY_SEED = 100, 1000


def _tracer_warnings(caught):
    """Distinct TracerWarnings as `message (file:line)`."""
    seen = []
    for w in caught:
        if issubclass(w.category, torch.jit.TracerWarning):
            first = str(w.message).strip().splitlines()[0].split(". ")[0].rstrip(".")
            text = f"{first} ({os.path.basename(w.filename)}:{w.lineno})"
            if text not in seen:
                seen.append(text)
    return seen


def _disagreements(model, candidate, specs):
    """Runs eager and `candidate` on the trace-check inputs; returns the ones where they differ."""
    found = []
    for label, seed_offset, transform in TRACE_CHECK_VARIANTS:
        inputs = make_inputs(specs, TRACE_EXAMPLE_SEED + seed_offset, transform)
        with wrap_user(f"running the eager model on trace-check input {label}"):
            expected = run_model(model, inputs)
        with wrap_user(f"running the exported model on trace-check input {label}"):
            actual = run_model(candidate, inputs)
        if len(actual) != len(expected):
            found.append({"input": label, "output": "*", "max_abs": None,
                          "note": f"{len(actual)} outputs vs eager {len(expected)}"})
            continue
        for (name, e), (_, a) in zip(expected, actual):
            if a.shape != e.shape:
                found.append({"input": label, "output": name, "max_abs": None,
                              "note": f"shape {list(a.shape)} vs eager {list(e.shape)}"})
            elif not torch.allclose(a.to(torch.float64), e.to(torch.float64), atol=CHECK_ATOL, rtol=CHECK_RTOL, equal_nan=True):
                err = (a.to(torch.float64) - e.to(torch.float64)).abs().nan_to_num(nan=float("inf"))
                found.append({"input": label, "output": name, "max_abs": float(err.max())})
    return found


def _describe(found, checked):
    """`3 of 8 check inputs: -x (max abs diff 1.77), ...`, worst output per input."""
    worst = {}
    for d in found:
        key = d["input"]
        text = d.get("note") or f"max abs diff {d['max_abs']:.3g}"
        if key not in worst or (d.get("max_abs") or 0) > (worst[key][0] or 0):
            worst[key] = (d.get("max_abs"), text)
    parts = [f"{label} ({text})" for label, (_, text) in worst.items()]
    return f"{len(worst)} of {checked} check inputs: " + ", ".join(parts)


def _trace(model, example, specs):
    """-> (traced module or None, trace-check report)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with wrap_user("torch.jit.trace"):
            traced = torch.jit.trace(model, tuple(example), check_trace=False, strict=False)
    report = {"inputs_checked": [v[0] for v in TRACE_CHECK_VARIANTS], "tracer_warnings": _tracer_warnings(caught)}
    report["disagreements"] = _disagreements(model, traced, specs)
    return traced, report


def _script(spec, model):
    with wrap_user(f"torch.jit.script({spec})"):
        return torch.jit.script(model)


def choose_graph(spec, model, example, specs, method):
    """Trace, script, or trace-then-check-then-maybe-script. -> (module, method used, check report, note)."""
    if method == "script":
        say("scripting with torch.jit.script")
        return _script(spec, model), "script", None, None

    say(f"tracing with torch.jit.trace, then checking it against eager on {len(TRACE_CHECK_VARIANTS)} inputs")
    try:
        traced, report = _trace(model, example, specs)
    except BridgeError as exc:
        if method == "trace":
            raise
        note = f"torch.jit.trace failed ({exc.details.get('last_line', exc.message)}); used torch.jit.script instead"
        say(note)
        return _script(spec, model), "script", None, note

    if not report["disagreements"]:
        say("trace check passed: traced == eager on every check input")
        return traced, "trace", report, None

    problem = (f"torch.jit.trace froze data-dependent control flow in {spec}: the traced model disagrees "
               f"with eager on {_describe(report['disagreements'], len(TRACE_CHECK_VARIANTS))}")
    warned = report["tracer_warnings"]
    if warned:
        problem += "; torch warned: " + " | ".join(warned)
    if method == "trace":
        raise TraceDiverged(problem + ". Use --method script (or auto) so branches and loops are compiled, not recorded.",
                            disagreements=report["disagreements"], tracer_warnings=warned)
    say(problem)
    say("falling back to torch.jit.script (--method auto)")
    scripted = _script(spec, model)
    still = _disagreements(model, scripted, specs)
    if still:
        raise TraceDiverged(f"torch.jit.script of {spec} also disagrees with eager on {_describe(still, len(TRACE_CHECK_VARIANTS))}",
                            disagreements=still, tracer_warnings=warned)
    say("scripted model == eager on every check input")
    return scripted, "script", report, "torch.jit.trace froze data-dependent control flow; fell back to torch.jit.script"


def torchscript_signature(names, specs, eager_outputs, dynamic_batch):
    """What a TorchScript file cannot say of itself: input and output names, datatypes and dims
    (-1 on axis 0 with --dynamic-batch). ferry's libtorch engine serves the file from it."""
    def dims(shape):
        shape = list(shape)
        return ([-1] + shape[1:]) if dynamic_batch and shape else shape
    return {
        "format": SIGNATURE_FORMAT,
        "inputs": [{"name": n, "datatype": V2_DATATYPES.get(dt, dt), "dims": dims(shape)} for n, (shape, dt) in zip(names, specs)],
        "outputs": [{"name": n, "datatype": V2_DATATYPES.get(str(t.dtype).replace("torch.", ""), str(t.dtype)), "dims": dims(t.shape)}
                    for n, t in eager_outputs],
    }


def _parity_cases(specs, dynamic_batch):
    cases = [("as given", specs)]
    if dynamic_batch and all(len(s) >= 1 for s, _ in specs):
        b = specs[0][0][0]
        other = 3 if b != 3 else 2
        cases.append((f"batch {other}", [([other] + list(s[1:]), dt) for s, dt in specs]))
    return cases


def _onnxruntime():
    try:
        import onnxruntime  # noqa: F401
        return onnxruntime
    except Exception:  # noqa: BLE001 - any import problem means "not available"
        return None


def export(args):
    timer = Timer()
    timings = {}
    spec = args.model
    specs = args.input_shape
    say(f"building {spec}()")
    model = load_factory(spec, args.seed)
    names = input_names(model, len(specs))
    timings["load_s"] = timer.lap()

    example = make_inputs(specs, TRACE_EXAMPLE_SEED)
    with wrap_user(f"running {spec} eagerly on inputs of shape {[s for s, _ in specs]}"):
        eager_example = run_model(model, example)
    if not eager_example:
        raise UsageError(f"{spec}: forward() returned no tensors")
    output_names = [n for n, _ in eager_example]

    graph, method_used, check, note = choose_graph(spec, model, example, specs, args.method)
    timings["check_s"] = timer.lap()

    out = os.path.abspath(args.output)
    os.makedirs(os.path.dirname(out), exist_ok=True)
    result = {
        "output_path": out, "format": args.to, "method_requested": args.method, "method": method_used,
        "fallback": note, "trace_check": check,
        "inputs": [{"name": n, "shape": s, "dtype": dt} for n, (s, dt) in zip(names, specs)],
        "outputs": [{"name": n, "shape": list(t.shape), "dtype": str(t.dtype).replace("torch.", "")} for n, t in eager_example],
    }

    if args.to == "ptl":
        # PyTorch Mobile: optimize_for_mobile (conv+BN folding, prepacked XNNPACK ops, dropout
        # removal), saved for the lite interpreter, loaded back with it for the parity check.
        from torch.utils.mobile_optimizer import optimize_for_mobile
        from torch.jit.mobile import _load_for_lite_interpreter
        say("optimize_for_mobile")
        with wrap_user("torch.utils.mobile_optimizer.optimize_for_mobile"):
            mobile = optimize_for_mobile(graph)
        say(f"saving for the lite interpreter to {out}")
        with wrap_user("_save_for_lite_interpreter"):
            mobile._save_for_lite_interpreter(out)
        timings["export_s"] = timer.lap()
        with wrap_user(f"loading {out} with the lite interpreter"):
            lite = _load_for_lite_interpreter(out)
        runner = ("lite interpreter (torch.jit.mobile)", lambda inputs: run_model(lite, inputs))
        cases = _parity_cases(specs, False)
    elif args.to == "torchscript":
        signature = torchscript_signature(names, specs, eager_example, args.dynamic_batch)
        result["dynamic_batch"] = bool(args.dynamic_batch)
        say(f"saving TorchScript to {out} (signature in {SIGNATURE_FILE}" + (", dynamic batch)" if args.dynamic_batch else ")"))
        with wrap_user("saving TorchScript"):
            graph.save(out, _extra_files={SIGNATURE_FILE: json.dumps(signature)})
        timings["export_s"] = timer.lap()
        with wrap_user(f"loading the saved TorchScript {out}"):
            exported = torch.jit.load(out, map_location="cpu")
        exported.eval()
        runner = ("torch.jit.load", lambda inputs: run_model(exported, inputs))
        cases = _parity_cases(specs, args.dynamic_batch)
    else:
        result["opset"] = args.opset
        result["dynamic_batch"] = bool(args.dynamic_batch)
        dynamic_axes = None
        if args.dynamic_batch:
            dynamic_axes = {n: {0: "batch"} for n in names}
            dynamic_axes.update({n: {0: "batch"} for n, t in eager_example if t.dim() >= 1})
        target = model if method_used == "trace" else graph
        say(f"exporting ONNX opset {args.opset} to {out}" + (" (dynamic batch)" if args.dynamic_batch else ""))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", torch.jit.TracerWarning)  # already reported by the trace check
            with wrap_user("torch.onnx.export"):
                torch.onnx.export(target, tuple(example), out, export_params=True, opset_version=args.opset,
                                  do_constant_folding=True, input_names=names, output_names=output_names,
                                  dynamic_axes=dynamic_axes)
        timings["export_s"] = timer.lap()
        try:
            import onnx.checker as onnx_checker
        except ImportError:  # no onnx package (Debian's libonnx-testdata alone leaves a bare namespace)
            onnx_checker = None
        if onnx_checker is not None:
            with wrap_user(f"onnx.checker.check_model({out})"):
                onnx_checker.check_model(out)
            result["onnx_checker"] = "passed"
        ort = _onnxruntime()
        runner = None
        if ort is not None:
            session = ort.InferenceSession(out, providers=["CPUExecutionProvider"])
            graph_inputs = [i.name for i in session.get_inputs()]

            def run_ort(inputs):
                feeds = {n: t.numpy() for n, t in zip(names, inputs) if n in graph_inputs}
                return [(o.name, torch.from_numpy(v)) for o, v in zip(session.get_outputs(), session.run(None, feeds))]
            runner = (f"onnxruntime {ort.__version__} (python)", run_ort)
        else:
            say("onnxruntime is not importable in this Python: parity is left to the caller's onnxruntime")
        cases = _parity_cases(specs, args.dynamic_batch)

    parity, files = [], []
    for i, (label, case_specs) in enumerate(cases):
        inputs = make_inputs(case_specs, PARITY_SEED + i)
        with wrap_user(f"running {spec} eagerly on parity inputs ({label})"):
            expected = run_model(model, inputs)
        if args.parity_dir:
            os.makedirs(args.parity_dir, exist_ok=True)
            in_path = os.path.join(args.parity_dir, f"parity_{i}_inputs.npz")
            exp_path = os.path.join(args.parity_dir, f"parity_{i}_expected.npz")
            save_npz(in_path, list(zip(names, inputs)))
            save_npz(exp_path, expected)
            files.append({"label": label, "inputs": in_path, "expected": exp_path})
        if runner is None:
            continue
        engine, run_exported = runner
        with wrap_user(f"running the exported model on parity inputs ({label})"):
            actual = run_exported(inputs)
        for (name, e), (_, a) in zip(expected, actual):
            row = {"engine": engine, "case": label, "inputs": [{"name": n, "shape": list(t.shape)} for n, t in zip(names, inputs)],
                   "output": name, **diff_stats(a, e)}
            parity.append(row)
        if len(actual) != len(expected):
            parity.append({"engine": engine, "case": label, "output": "*", "max_abs": None, "max_rel": None, "pass": False,
                           "note": f"{len(actual)} outputs vs eager {len(expected)}"})
    timings["parity_s"] = timer.lap()
    result.update({"parity": parity, "parity_files": files, "parity_atol": PARITY_ATOL, "parity_rtol": PARITY_RTOL,
                   "timings": timings, "bytes": os.path.getsize(out)})
    for row in parity:
        status = "PASS" if row["pass"] else "FAIL"
        say(f"parity {row['engine']} {row['case']} {row['output']}: max abs {row['max_abs']}, {status}")
    return result

