-- POST /documents: one small document a request, id {VP_LOAD_RUN}/{thread}-{n} (never twice), its text the next line
-- of VP_LOAD_BODIES (each line a JSON string), key VP_LOAD_KEY.
dofile(os.getenv("VP_LOAD_SCRIPTS") .. "/common.lua")
local texts = read_lines(os.getenv("VP_LOAD_BODIES"))
local headers = { ["Content-Type"] = "application/json", ["X-Api-Key"] = os.getenv("VP_LOAD_KEY") }
local run = os.getenv("VP_LOAD_RUN")
local n = 0

function request()
  n = n + 1
  local body = string.format('{"id":"%s/%d-%d","title":"Load","source":"load","text":%s}',
    run, thread_number or 0, n, texts[(n + (thread_number or 0) * 104729) % #texts + 1])
  return wrk.format("POST", "/documents", headers, body)
end
