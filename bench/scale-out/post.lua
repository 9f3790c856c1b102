-- wrk: POST one Fashion-MNIST v2 JSON request (784 values) to /v2/models/fashion/infer.
local values = {}
for i = 1, 784 do values[i] = "0.5" end
wrk.method = "POST"
wrk.path = "/v2/models/fashion/infer"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"inputs":[{"name":"input","shape":[1,1,28,28],"datatype":"FP32","data":[' .. table.concat(values, ",") .. ']}]}'
