"""Triton's own Python client (tritonclient.http and .http.aio), unchanged, against a ferry server.

    .venv/bin/python test/compat/tritonclient_check.py http://127.0.0.1:8000

Uses the fixture repository (test/fixtures/models: scale, dyn, matpow, types). Prints one line
per check ("ok   name" or "FAIL name: why") and exits 1 if any check failed. Every check asks
for what Triton itself answers; where Triton's answer is a feature ferry does not have, the check
also accepts a clear error, but never a silently different result. Deterministic, a few seconds.
It unloads and reloads models, so point it at a server of its own.
"""

import asyncio
import json
import sys
import time
import traceback

import numpy as np
import tritonclient.http as httpclient
import tritonclient.http.aio as aioclient
from tritonclient.utils import InferenceServerException

CHECKS = []


def check(fn):
    CHECKS.append(fn)
    return fn


class CheckFailed(Exception):
    pass


def expect(cond, why):
    if not cond:
        raise CheckFailed(why)


def expect_equal(got, want, what):
    if isinstance(want, np.ndarray):
        ok = isinstance(got, np.ndarray) and got.dtype == want.dtype and got.shape == want.shape and np.array_equal(got, want)
        if not ok:
            desc = f"{got.dtype}{list(got.shape)} {got.tolist()}" if isinstance(got, np.ndarray) else repr(got)
            raise CheckFailed(f"{what}: got {desc}, want {want.dtype}{list(want.shape)} {want.tolist()}")
    elif got != want:
        raise CheckFailed(f"{what}: got {got!r}, want {want!r}")


def expect_error(fn, *fragments, status=None):
    """Runs fn, which must raise InferenceServerException whose message names each fragment."""
    try:
        fn()
    except InferenceServerException as e:
        msg = e.message() or ""
        for frag in fragments:
            expect(frag in msg, f"error message {msg!r} does not mention {frag!r}")
        if status is not None:
            expect(str(e.status()) == str(status), f"HTTP status {e.status()}, want {status} (message {msg!r})")
        return e
    raise CheckFailed(f"no error raised; expected one mentioning {fragments}")


def tensor(name, arr, datatype, binary, mod=httpclient):
    t = mod.InferInput(name, list(arr.shape), datatype)
    t.set_data_from_numpy(arr, binary_data=binary)
    return t


def outputs(names, binary, mod=httpclient):
    return [mod.InferRequestedOutput(n, binary_data=binary) for n in names]


X = np.arange(8, dtype=np.float32).reshape(2, 4) - 3.5  # scale: y = 2x
TYPES_IN = {
    "a": (np.array([[1, -2], [2**31 + 5, -(2**40) + 3]], dtype=np.int64), "INT64"),
    "b": (np.array([[0, 1, 255], [7, 128, 9]], dtype=np.uint8), "UINT8"),
    "c": (np.array([[True], [False]]), "BOOL"),
    "d": (np.array([[1.5, -2.25], [65504, 6.1035156e-05]], dtype=np.float16), "FP16"),
}
TYPES_OUT = ["a_out", "b_out", "c_out", "d_out"]


def infer_types(client, in_binary, out_binary, overrides=None):
    data = dict(TYPES_IN)
    data.update(overrides or {})
    inputs = [tensor(n, arr, dt, in_binary) for n, (arr, dt) in data.items()]
    result = client.infer("types", inputs, outputs=outputs(TYPES_OUT, out_binary))
    how = f"inputs {'binary' if in_binary else 'JSON'}, outputs {'binary' if out_binary else 'JSON'}"
    for n in TYPES_OUT:
        try:
            got = result.as_numpy(n)
        except Exception as e:  # e.g. OverflowError on an int64 JSON value out of range
            sent = next((o.get("data") for o in result.get_response()["outputs"] if o["name"] == n), None)
            raise CheckFailed(f"{n} ({how}): as_numpy raised {type(e).__name__}: {e}; the JSON data was {sent}") from None
        expect_equal(got, data[n[0]][0], f"{n} ({how})")
    return result


# ---- health and metadata -------------------------------------------------------------------------

@check
def server_live_and_ready(c):
    expect(c.is_server_live(), "is_server_live() is False")
    expect(c.is_server_ready(), "is_server_ready() is False")


@check
def server_metadata(c):
    md = c.get_server_metadata()
    expect(isinstance(md.get("name"), str) and md["name"], f"no name in {md}")
    expect(isinstance(md.get("version"), str), f"no version in {md}")
    for ext in ("binary_tensor_data", "model_repository", "statistics", "model_configuration", "schedule_policy"):
        expect(ext in md.get("extensions", []), f"extension {ext} not listed in {md.get('extensions')}")


@check
def model_ready(c):
    expect(c.is_model_ready("scale"), "is_model_ready('scale') is False")
    expect(c.is_model_ready("scale", "1"), "is_model_ready('scale', '1') is False")
    expect(not c.is_model_ready("scale", "7"), "is_model_ready('scale', '7') is True")
    expect(not c.is_model_ready("no_such_model"), "is_model_ready('no_such_model') is True")


@check
def model_metadata(c):
    md = c.get_model_metadata("scale")
    expect_equal(md["name"], "scale", "name")
    expect("1" in md["versions"], f"versions {md['versions']} lack '1'")
    expect_equal(md["inputs"], [{"name": "x", "datatype": "FP32", "shape": [-1, 4]}], "scale inputs")
    expect_equal(md["outputs"], [{"name": "y", "datatype": "FP32", "shape": [-1, 4]}], "scale outputs")
    md = c.get_model_metadata("types", "1")
    expect_equal([(i["name"], i["datatype"], i["shape"]) for i in md["inputs"]],
                 [("a", "INT64", [-1, 2]), ("b", "UINT8", [-1, 3]), ("c", "BOOL", [-1, 1]), ("d", "FP16", [-1, 2])], "types inputs")
    md = c.get_model_metadata("dyn")
    expect_equal(md["inputs"][0]["shape"], [-1, -1], "dyn input shape")


@check
def model_config(c):
    cfg = c.get_model_config("scale")
    expect_equal(cfg["name"], "scale", "name")
    expect(cfg["max_batch_size"] >= 2, f"max_batch_size {cfg['max_batch_size']}")
    expect_equal([(i["name"], i["data_type"], i["dims"]) for i in cfg["input"]], [("x", "TYPE_FP32", [4])], "input")
    expect_equal([(o["name"], o["data_type"], o["dims"]) for o in cfg["output"]], [("y", "TYPE_FP32", [4])], "output")
    cfg = c.get_model_config("types", "1")
    expect_equal([i["data_type"] for i in cfg["input"]], ["TYPE_INT64", "TYPE_UINT8", "TYPE_BOOL", "TYPE_FP16"], "types input data_type")


@check
def repository_index(c):
    index = c.get_model_repository_index()
    names = {m["name"]: m for m in index}
    for n in ("scale", "dyn", "matpow", "types"):
        expect(n in names, f"{n} missing from index {index}")
        expect_equal(names[n].get("state"), "READY", f"{n} state")
        expect_equal(names[n].get("version"), "1", f"{n} version")


# ---- inference -----------------------------------------------------------------------------------

@check
def infer_scale_json_and_binary(c):
    for in_binary in (False, True):
        for out_binary in (False, True):
            r = c.infer("scale", [tensor("x", X, "FP32", in_binary)], outputs=outputs(["y"], out_binary))
            expect_equal(r.as_numpy("y"), 2 * X, f"y (in binary={in_binary}, out binary={out_binary})")
            expect_equal(r.get_response()["model_name"], "scale", "model_name")
    # No outputs listed: tritonclient asks for binary_data_output, every output comes back.
    r = c.infer("scale", [tensor("x", X, "FP32", False)])
    expect_equal(r.as_numpy("y"), 2 * X, "y (no outputs listed)")


@check
def infer_version_and_request_id(c):
    r = c.infer("scale", [tensor("x", X, "FP32", True)], model_version="1", request_id="req-42")
    resp = r.get_response()
    expect_equal(resp.get("id"), "req-42", "id echoed")
    expect_equal(resp.get("model_version"), "1", "model_version")


@check
def infer_dyn_and_matpow(c):
    x = np.linspace(-1, 1, 15, dtype=np.float32).reshape(3, 5)
    expect_equal(c.infer("dyn", [tensor("x", x, "FP32", True)]).as_numpy("y"), x + 1, "dyn y")
    eye = np.eye(3, dtype=np.float32)[None]  # any power of I is I
    r = c.infer("matpow", [tensor("x", eye, "FP32", False)], outputs=outputs(["y"], False))
    expect_equal(r.as_numpy("y"), eye, "matpow(I)")


@check
def infer_types_json(c):
    infer_types(c, in_binary=False, out_binary=False)


@check
def infer_types_binary(c):
    infer_types(c, in_binary=True, out_binary=True)


@check
def infer_types_mixed(c):
    infer_types(c, in_binary=True, out_binary=False)
    infer_types(c, in_binary=False, out_binary=True)


BIG_INT64 = np.array([[2**53 + 1, -(2**62) + 3], [2**63 - 1, -(2**63)]], dtype=np.int64)


@check
def infer_int64_beyond_2p53_json_input(c):
    # tritonclient writes exact int64 decimals into the JSON; Triton parses them exactly.
    infer_types(c, in_binary=False, out_binary=True, overrides={"a": (BIG_INT64, "INT64")})


@check
def infer_int64_beyond_2p53_json_output(c):
    # Binary in, JSON out: Triton writes exact int64 decimals.
    infer_types(c, in_binary=True, out_binary=False, overrides={"a": (BIG_INT64, "INT64")})


@check
def infer_batch_sizes(c):
    for n in (1, 3, 32):
        x = np.arange(4 * n, dtype=np.float32).reshape(n, 4)
        expect_equal(c.infer("scale", [tensor("x", x, "FP32", True)]).as_numpy("y"), 2 * x, f"batch {n}")


@check
def async_infer_concurrent(c):
    # tritonclient's async_infer sleeps 10 ms per call (client side), so 64 requests take ~0.7 s.
    pending = []
    for k in range(64):
        x = np.full((1 + k % 4, 4), k, dtype=np.float32)
        req = c.async_infer("scale", [tensor("x", x, "FP32", k % 2 == 0)],
                            outputs=outputs(["y"], k % 3 == 0), request_id=f"a{k}")
        pending.append((k, x, req))
    for k, x, req in pending:
        r = req.get_result(timeout=30)
        expect_equal(r.as_numpy("y"), 2 * x, f"async request {k}")
        expect_equal(r.get_response().get("id"), f"a{k}", f"async request {k} id")


@check
def aio_client_concurrent(c):
    async def run():
        a = aioclient.InferenceServerClient(c._ferry_hostport)
        try:
            expect(await a.is_server_ready(), "aio is_server_ready() is False")
            xs = [np.full((2, 4), k, dtype=np.float32) for k in range(48)]
            results = await asyncio.gather(*[
                a.infer("scale", [tensor("x", x, "FP32", k % 2 == 0, aioclient)], outputs=outputs(["y"], k % 3 == 0, aioclient))
                for k, x in enumerate(xs)])
            for k, (x, r) in enumerate(zip(xs, results)):
                expect_equal(r.as_numpy("y"), 2 * x, f"aio request {k}")
            stats = await a.get_inference_statistics("scale")
            expect(stats["model_stats"][0]["name"] == "scale", f"aio stats {stats}")
        finally:
            await a.close()
    asyncio.run(run())


@check
def infer_priority_and_timeout(c):
    r = c.infer("scale", [tensor("x", X, "FP32", True)], priority=1, timeout=5_000_000)
    expect_equal(r.as_numpy("y"), 2 * X, "y with priority=1 timeout=5s")
    r = c.infer("scale", [tensor("x", X, "FP32", False)], priority=0, timeout=0)
    expect_equal(r.as_numpy("y"), 2 * X, "y with priority=0 timeout=0 (the defaults)")


@check
def infer_priority_beyond_levels_uses_default(c):
    # Triton (InferenceRequest::SetPriority): a priority of 0 or above the model's
    # priority_levels runs at default_priority_level; it is not an error.
    levels = c.get_model_config("scale").get("dynamic_batching", {}).get("priority_levels", 0)
    r = c.infer("scale", [tensor("x", X, "FP32", True)], priority=levels + 1)
    expect_equal(r.as_numpy("y"), 2 * X, f"y with priority={levels + 1} (priority_levels {levels})")


@check
def infer_timeout_expires_in_queue(c):
    # Four large matpow requests of different shapes cannot share a batch, so they keep the one
    # matpow instance busy one after another; a request with a 1 ms queue timeout behind them
    # must be refused, not run.
    bigs = [np.eye(n, dtype=np.float32)[None] for n in (1024, 1023, 1022, 1021)]
    busy = [c.async_infer("matpow", [tensor("x", big, "FP32", True)]) for big in bigs]
    time.sleep(0.02)
    small = np.eye(2, dtype=np.float32)[None]
    expect_error(lambda: c.infer("matpow", [tensor("x", small, "FP32", True)], timeout=1000))
    for big, req in zip(bigs, busy):
        expect_equal(req.get_result(timeout=60).as_numpy("y"), big, f"the busy request's result ({big.shape})")


@check
def infer_gzip_request(c):
    r = c.infer("scale", [tensor("x", X, "FP32", False)], request_compression_algorithm="gzip")
    expect_equal(r.as_numpy("y"), 2 * X, "y (gzip JSON request)")


@check
def infer_deflate_binary_request(c):
    r = c.infer("scale", [tensor("x", X, "FP32", True)], request_compression_algorithm="deflate")
    expect_equal(r.as_numpy("y"), 2 * X, "y (deflate binary request)")


@check
def infer_gzip_response(c):
    r = c.infer("scale", [tensor("x", X, "FP32", True)], response_compression_algorithm="gzip")
    expect_equal(r.as_numpy("y"), 2 * X, "y (Accept-Encoding: gzip)")


@check
def infer_classification_not_silently_ignored(c):
    # Triton's classification extension: y comes back as BYTES "value:index" top-2 per row
    # (JSON strings, or length-prefixed bytes in the binary section). A server without it must
    # refuse, not return the raw FP32 tensor as if nothing was asked.
    want = [[b"-1.000000:3", b"-3.000000:2"], [b"7.000000:3", b"5.000000:2"]]
    for binary in (False, True):
        try:
            r = c.infer("scale", [tensor("x", X, "FP32", True)],
                        outputs=[httpclient.InferRequestedOutput("y", binary_data=binary, class_count=2)])
        except InferenceServerException:
            continue
        meta = next(o for o in r.get_response()["outputs"] if o["name"] == "y")
        y = r.as_numpy("y")
        got = [[v.encode() if isinstance(v, str) else v for v in row] for row in y.tolist()] if y is not None and y.ndim == 2 else None
        expect(meta["datatype"] == "BYTES" and list(meta["shape"]) == [2, 2] and got == want,
               f"class_count=2 (binary={binary}) answered {meta['datatype']}{meta['shape']} {y.tolist() if y is not None else None}; "
               f"want BYTES[2, 2] {want} or an error")


# ---- statistics ----------------------------------------------------------------------------------

@check
def inference_statistics(c):
    before = c.get_inference_statistics("scale")["model_stats"][0]["inference_stats"]["success"]["count"]
    for _ in range(3):
        c.infer("scale", [tensor("x", X, "FP32", True)])
    stats = c.get_inference_statistics("scale", "1")["model_stats"]
    expect_equal(len(stats), 1, "one model_stats entry")
    s = stats[0]
    expect_equal((s["name"], s["version"]), ("scale", "1"), "name, version")
    expect(s["inference_stats"]["success"]["count"] >= before + 3, f"success count {s['inference_stats']['success']} did not grow by 3 from {before}")
    for key in ("queue", "compute_input", "compute_infer", "compute_output"):
        expect(key in s["inference_stats"], f"inference_stats lacks {key}")
    expect(s["inference_count"] >= s["execution_count"] > 0, f"inference_count {s['inference_count']} execution_count {s['execution_count']}")
    everything = c.get_inference_statistics()["model_stats"]
    expect({"scale", "types"} <= {m["name"] for m in everything}, f"all-model stats names {[m['name'] for m in everything]}")


# ---- model repository ----------------------------------------------------------------------------

@check
def unload_and_load(c):
    c.unload_model("dyn")
    expect(not c.is_model_ready("dyn"), "dyn still ready after unload_model")
    state = {m["name"]: m for m in c.get_model_repository_index()}["dyn"]
    expect(state.get("state") == "UNAVAILABLE", f"index entry after unload {state}")
    expect_error(lambda: c.infer("dyn", [tensor("x", X, "FP32", True)]), "dyn")
    c.load_model("dyn")
    expect(c.is_model_ready("dyn"), "dyn not ready after load_model")
    c.unload_model("dyn", unload_dependents=True)
    c.load_model("dyn")
    expect(c.is_model_ready("dyn"), "dyn not ready after the second load_model")
    x = np.ones((1, 3), dtype=np.float32)
    expect_equal(c.infer("dyn", [tensor("x", x, "FP32", True)]).as_numpy("y"), x + 1, "dyn after reload")


@check
def load_with_config_override_not_silently_ignored(c):
    # Triton loads the model with the given config (here max_batch_size 4). A server that cannot
    # must refuse the request, not answer 200 and keep the old config.
    before = c.get_model_config("scale")["max_batch_size"]
    override = dict(c.get_model_config("scale"), max_batch_size=4)
    override.pop("dynamic_batching", None)
    try:
        c.load_model("scale", config=json.dumps(override))
    except InferenceServerException:
        expect(c.is_model_ready("scale"), "scale not ready after a refused config override")
        return
    try:
        after = c.get_model_config("scale")["max_batch_size"]
        expect(after == 4, f"load_model(config=max_batch_size 4) answered 200 but max_batch_size is still {after} (was {before})")
    finally:
        c.load_model("scale")  # Triton reloads from the repository's own config
        expect(c.is_model_ready("scale"), "scale not ready after reloading without override")


# ---- errors --------------------------------------------------------------------------------------

@check
def errors_carry_server_message(c):
    expect_error(lambda: c.infer("no_such_model", [tensor("x", X, "FP32", True)]), "no_such_model")
    expect_error(lambda: c.get_model_metadata("no_such_model"), "no_such_model")
    expect_error(lambda: c.get_model_config("no_such_model"), "no_such_model")
    expect_error(lambda: c.load_model("no_such_model"), "no_such_model")
    expect_error(lambda: c.infer("scale", [tensor("x", np.zeros((2, 3), np.float32), "FP32", True)]), "x", status=400)
    expect_error(lambda: c.infer("scale", [tensor("x", np.zeros((2, 4), np.float64), "FP64", False)]), "x", status=400)
    expect_error(lambda: c.infer("scale", [tensor("z", X, "FP32", True)]), "z", status=400)
    expect_error(lambda: c.infer("scale", [tensor("x", np.zeros((33, 4), np.float32), "FP32", True)]), status=400)
    expect_error(lambda: c.infer("scale", [tensor("x", X, "FP32", True)], outputs=outputs(["nope"], True)), "nope", status=400)
    # The server is still fine afterwards.
    expect_equal(c.infer("scale", [tensor("x", X, "FP32", True)]).as_numpy("y"), 2 * X, "y after errors")


def main(argv):
    if len(argv) != 2:
        print(f"usage: {argv[0]} URL   (e.g. http://127.0.0.1:8000)", file=sys.stderr)
        return 2
    url = argv[1]
    hostport = url.split("://", 1)[-1].rstrip("/")
    client = httpclient.InferenceServerClient(hostport, concurrency=8, connection_timeout=30, network_timeout=30)
    client._ferry_hostport = hostport
    failed = 0
    started = time.monotonic()
    for fn in CHECKS:
        t0 = time.monotonic()
        try:
            fn(client)
            print(f"ok   {fn.__name__} ({(time.monotonic() - t0) * 1000:.0f} ms)", flush=True)
        except CheckFailed as e:
            failed += 1
            print(f"FAIL {fn.__name__}: {e}", flush=True)
        except InferenceServerException as e:
            failed += 1
            print(f"FAIL {fn.__name__}: server answered [{e.status()}] {e.message()}", flush=True)
        except Exception as e:  # noqa: BLE001 — report and go on
            failed += 1
            print(f"FAIL {fn.__name__}: {type(e).__name__}: {e}", flush=True)
            traceback.print_exc(limit=3, file=sys.stdout)
    client.close()
    print(f"{len(CHECKS) - failed}/{len(CHECKS)} checks passed in {time.monotonic() - started:.1f} s")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
