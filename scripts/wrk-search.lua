-- wrk script: GET /api/search with a rotating set of queries (words, phrases, boolean syntax, a
-- filter, paging, and a syntax error that must answer 400 quickly; wrk counts it as non-2xx, so
-- it is left out unless $SEARCH_BAD is set).
--   wrk -t1 -c8 -d10s -s scripts/wrk-search.lua http://127.0.0.1:8080

local queries = {
  "amnesty",
  "%22amnesty%20decree%22",
  "amnesty%20AND%20NOT%20taliban",
  "vaccine&limit=20",
  "president%20said&kind=claim&offset=10",
  "election%20fraud&verdict=false",
  "covid%20OR%20coronavirus&limit=50",
  "taxes&from=2019&to=2021",
  "speaker:trump",
  "immigration%20wall",
}
if os.getenv("SEARCH_BAD") then queries[#queries + 1] = "amnesty%20AND%20(" end

local n = 0
request = function()
  n = n % #queries + 1
  return wrk.format("GET", "/api/search?q=" .. queries[n])
end
