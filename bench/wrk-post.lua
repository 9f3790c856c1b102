-- wrk: POST one prebuilt body, read from a file, to one path; no response() hook (it would cost
-- wrk more CPU than the server it measures). Set by bench/clients.mjs through the environment:
--   WRK_BODY_FILE  the body's bytes       WRK_PATH  e.g. /v2/models/fashion/infer
--   WRK_HEADERS    "Name: value" lines, separated by "\n"
local f = assert(io.open(os.getenv("WRK_BODY_FILE"), "rb"))
wrk.method = "POST"
wrk.path = os.getenv("WRK_PATH")
wrk.body = f:read("*a")
f:close()
for line in (os.getenv("WRK_HEADERS") or ""):gmatch("[^\n]+") do
  local name, value = line:match("^([^:]+):%s*(.*)$")
  if name then wrk.headers[name] = value end
end
