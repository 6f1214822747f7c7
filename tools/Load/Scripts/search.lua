-- POST /search with the request bodies of VP_LOAD_BODIES (one JSON body a line), in turn, key VP_LOAD_KEY;
-- VP_LOAD_DELAY_MS: milliseconds between one answer and the next request of a connection.
dofile(os.getenv("VP_LOAD_SCRIPTS") .. "/common.lua")
local bodies = read_lines(os.getenv("VP_LOAD_BODIES"))
local headers = { ["Content-Type"] = "application/json", ["X-Api-Key"] = os.getenv("VP_LOAD_KEY") }
local n = 0
local pause = tonumber(os.getenv("VP_LOAD_DELAY_MS") or "0")

-- With VP_LOAD_DELAY_MS, each connection waits that long before its next request (a client that paces itself).
if pause > 0 then
  function delay()
    return pause
  end
end

function request()
  n = n + 1
  return wrk.format("POST", "/search", headers, bodies[(n + (thread_number or 0) * 7919) % #bodies + 1])
end
