-- wrk script: POST one binary v2 inference request (a 3x224x224 FP32 image) over and over.
-- The body is made by bench/libtorch/run.mjs: FERRY_WRK_BODY names the file, FERRY_WRK_HEADER_LENGTH
-- the length of its JSON header.
local f = assert(io.open(os.getenv("FERRY_WRK_BODY"), "rb"))
wrk.method = "POST"
wrk.body = f:read("*all")
f:close()
wrk.headers["Content-Type"] = "application/octet-stream"
wrk.headers["Inference-Header-Content-Length"] = os.getenv("FERRY_WRK_HEADER_LENGTH")
