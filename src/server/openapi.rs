//! The OpenAPI 3 document of the service, written by hand and generated over [`ROUTES`], so that
//! every route is documented and nothing undocumented is routed.

use serde_json::{json, Map, Value};

use super::{Route, ROUTES};

fn query(name: &str, description: &str, schema: Value) -> Value {
    json!({ "name": name, "in": "query", "required": false, "description": description, "schema": schema })
}

fn id_param() -> Value {
    json!({ "name": "id", "in": "path", "required": true, "schema": { "type": "string" } })
}

fn ok(description: &str, schema: Value) -> Value {
    json!({ "description": description, "content": { "application/json": { "schema": schema } } })
}

fn err(description: &str) -> Value {
    json!({ "description": description, "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } })
}

fn json_body(schema: Value) -> Value {
    json!({ "required": true, "content": { "application/json": { "schema": schema } } })
}

fn filter_params() -> Vec<Value> {
    vec![
        query("speaker", "Only this speaker (claims) or source (evidence); exact, case-insensitive.", json!({"type": "string"})),
        query(
            "verdict",
            "Only these normalized verdicts, comma-separated: false, mostly-false, mixed, mostly-true, true, misleading, unproven, other.",
            json!({"type": "string"}),
        ),
        query("publisher", "Only this publisher; exact, case-insensitive.", json!({"type": "string"})),
        query("from", "Only records dated on or after (YYYY, YYYY-MM or YYYY-MM-DD).", json!({"type": "string"})),
        query("to", "Only records dated on or before.", json!({"type": "string"})),
    ]
}

/// The operation object of a route, or `None` if it is not written yet (a test forbids that).
pub fn operation(r: &Route) -> Option<Value> {
    let schema = |name: &str| json!({ "$ref": format!("#/components/schemas/{name}") });
    let write_errors = |mut v: Value| {
        let responses = v["responses"].as_object_mut().expect("operations have responses");
        responses.insert("401".into(), err("No `Authorization: Bearer` header."));
        responses.insert("403".into(), err("Wrong token, or writes are disabled (no token configured)."));
        v["security"] = json!([{ "bearer": [] }]);
        v
    };
    let op = match r.id {
        "page" => {
            json!({ "responses": { "200": { "description": "The page.", "content": { "text/html": {} } } } })
        }
        "healthz" => {
            json!({ "responses": { "200": ok("Alive.", json!({"type": "object", "properties": {"status": {"type": "string"}}})) } })
        }
        "metrics" => {
            json!({ "responses": { "200": { "description": "Prometheus text format.", "content": { "text/plain": {} } } } })
        }
        "openapi" => {
            json!({ "responses": { "200": ok("OpenAPI 3 document.", json!({"type": "object"})) } })
        }
        "stats" => {
            json!({ "responses": { "200": ok("Counts by kind, verdict and publisher.", schema("Stats")) } })
        }
        "search" => {
            let mut params = vec![query(
                "q",
                "Query: words, \"phrases\", AND, OR, NOT, +required, -excluded, field:value.",
                json!({"type": "string"}),
            )];
            params.extend(filter_params());
            params.push(query("kind", "claim or evidence.", json!({"type": "string", "enum": ["claim", "evidence"]})));
            params.push(query(
                "limit",
                "Page size, 1 to 1000 (default 10).",
                json!({"type": "integer", "minimum": 1, "maximum": 1000}),
            ));
            params.push(query("offset", "Results to skip (at most 100000).", json!({"type": "integer", "minimum": 0})));
            json!({
                "parameters": params,
                "responses": { "200": ok("A page of results with snippets and the total.", schema("SearchResults")), "400": err("Bad query, filter or paging.") }
            })
        }
        "match" => json!({
            "requestBody": json_body(schema("MatchRequest")),
            "responses": {
                "200": ok("The prior claims, best first.", schema("MatchResult")),
                "400": err("Malformed JSON or invalid request."),
                "413": err("Body over 8 MiB."),
                "415": err("Not `Content-Type: application/json`.")
            }
        }),
        "matchBatch" => json!({
            "requestBody": json_body(json!({
                "type": "object", "required": ["statements"],
                "properties": { "statements": { "type": "array", "maxItems": crate::matcher::MAX_BATCH, "items": schema("MatchRequest") } }
            })),
            "responses": {
                "200": ok("One result per statement, in order; an invalid statement gets `{\"error\": {...}}` in its slot.", json!({
                    "type": "object",
                    "properties": { "results": { "type": "array", "items": { "oneOf": [schema("MatchResult"), schema("Error")] } } }
                })),
                "400": err("Malformed JSON."),
                "413": err("More than 10000 statements, or a body over 8 MiB."),
                "415": err("Not JSON.")
            }
        }),
        "getClaim" => json!({
            "parameters": [id_param(), query("format", "json (default) or claimreview (schema.org JSON-LD; also chosen by `Accept: application/ld+json`).", json!({"type": "string", "enum": ["json", "claimreview"]}))],
            "responses": {
                "200": {
                    "description": "The claim.",
                    "content": { "application/json": { "schema": schema("Claim") }, "application/ld+json": { "schema": { "type": "object" } } }
                },
                "404": err("No such claim.")
            }
        }),
        "getEvidence" => json!({
            "parameters": [id_param()],
            "responses": { "200": ok("The evidence excerpt.", schema("Evidence")), "404": err("No such evidence.") }
        }),
        "deleteClaim" | "deleteEvidence" => write_errors(json!({
            "parameters": [id_param()],
            "responses": { "200": ok("Deleted (committed).", json!({"type": "object", "properties": {"deleted": {"type": "string"}}})), "404": err("No such record.") }
        })),
        "postClaims" | "postEvidence" => write_errors(json!({
            "requestBody": json_body(json!({ "oneOf": [schema("Record"), { "type": "array", "items": schema("Record") }] })),
            "responses": {
                "200": ok("Written and committed: visible to the next search.", json!({
                    "type": "object",
                    "properties": { "written": { "type": "object" }, "ids": { "type": "array", "items": { "type": "string" } } }
                })),
                "400": err("Malformed JSON or an invalid record (nothing is written)."),
                "413": err("Body over 8 MiB."),
                "415": err("Not JSON.")
            }
        })),
        "postArticle" => write_errors(json!({
            "requestBody": json_body(json!({
                "type": "object",
                "required": ["text"],
                "properties": {
                    "text": { "type": "string", "description": "The article as published." },
                    "format": { "type": "string", "enum": ["text", "markdown", "html"] },
                    "meta": { "type": "object", "description": "publisher, site, url, verdict, title, date, language, id_prefix: what the text does not say." },
                    "dry_run": { "type": "boolean", "description": "Extract only; write nothing." }
                }
            })),
            "responses": {
                "200": ok("The extraction (quotes with speakers, claims, evidence) and, unless a dry run, what was written and committed.", json!({
                    "type": "object",
                    "properties": { "extraction": { "type": "object" }, "written": { "type": "object" } }
                })),
                "400": err("Malformed JSON, an empty text or an unknown format."),
                "413": err("Body over 8 MiB."),
                "415": err("Not JSON.")
            }
        })),
        "gfcClaimsSearch" => json!({
            "description": "Answers like `https://factchecktools.googleapis.com/v1alpha1/claims:search`; `key` is ignored.",
            "parameters": [
                query("query", "Free text.", json!({"type": "string"})),
                query("languageCode", "BCP-47 language of the claims.", json!({"type": "string"})),
                query("reviewPublisherSiteFilter", "Only reviews on this site.", json!({"type": "string"})),
                query("maxAgeDays", "Only claims at most this many days old.", json!({"type": "integer"})),
                query("pageSize", "Page size (default 10).", json!({"type": "integer"})),
                query("pageToken", "`nextPageToken` of the previous page.", json!({"type": "string"})),
                query("offset", "Results to skip.", json!({"type": "integer"})),
                query("key", "Ignored.", json!({"type": "string"}))
            ],
            "responses": { "200": ok("Claims with their reviews.", json!({"type": "object", "properties": {"claims": {"type": "array"}, "nextPageToken": {"type": "string"}}})), "400": err("Bad parameter.") }
        }),
        _ => return None,
    };
    let mut op = op;
    op["operationId"] = json!(r.id);
    op["summary"] = json!(r.summary);
    Some(op)
}

fn schemas() -> Value {
    let obj = |desc: &str| json!({ "type": "object", "description": desc });
    json!({
        "Error": {
            "type": "object", "required": ["error"],
            "properties": { "error": { "type": "object", "required": ["code", "message"], "properties": { "code": { "type": "string" }, "message": { "type": "string" } } } }
        },
        "MatchRequest": {
            "type": "object", "required": ["text"],
            "properties": {
                "text": { "type": "string", "description": "The statement." },
                "speaker": { "type": "string", "description": "Who made it (a soft signal)." },
                "date": { "type": "string", "description": "When (YYYY, YYYY-MM, YYYY-MM-DD): later claims are left out." },
                "context": { "type": "string", "description": "The sentence before it." },
                "language": { "type": "string", "description": "BCP-47 (default en)." },
                "limit": { "type": "integer", "minimum": 1, "maximum": 1000, "description": "Claims to return (default 5)." },
                "filters": { "$ref": "#/components/schemas/Filters" },
                "no_evidence": { "type": "boolean", "description": "Leave out evidence (faster screening)." },
                "screening": { "type": "boolean", "description": "Claims-only screening for this statement: evidence passages neither searched nor scored, 5 of 20 candidates re-ranked (3–4.5× faster; as `serve --screening`)." }
            }
        },
        "Filters": {
            "type": "object",
            "properties": {
                "speaker": { "type": "string" },
                "verdicts": { "type": "array", "items": { "type": "string", "enum": crate::model::Rating::ALL.iter().map(|r| r.as_str()).collect::<Vec<_>>() } },
                "publisher": { "type": "string" },
                "from": { "type": "string" },
                "to": { "type": "string" }
            }
        },
        "MatchResult": {
            "type": "object",
            "properties": {
                "text": { "type": "string" },
                "flagged": { "type": "boolean" },
                "suggested": { "type": "boolean" },
                "score": { "type": "number" },
                "hits": { "type": "array", "items": {
                    "type": "object",
                    "properties": {
                        "score": { "type": "number" }, "lexical": { "type": "number" }, "semantic": { "type": "number" },
                        "claim": { "$ref": "#/components/schemas/Claim" },
                        "twins": { "type": "array", "items": { "type": "string" } },
                        "evidence": { "type": "array", "items": { "type": "object", "properties": {
                            "stance": { "type": "string", "enum": ["refutes", "supports", "context"] },
                            "evidence": { "$ref": "#/components/schemas/Evidence" }
                        } } }
                    }
                } }
            }
        },
        "SearchResults": {
            "type": "object",
            "properties": {
                "total": { "type": "integer" }, "offset": { "type": "integer" },
                "hits": { "type": "array", "items": { "type": "object", "properties": {
                    "score": { "type": "number" }, "snippet": { "type": "string", "description": "HTML-escaped, query terms in <b>." },
                    "record": { "$ref": "#/components/schemas/Record" }
                } } }
            }
        },
        "Claim": obj("A checked claim: id, text, speaker, speaker_role, date, language, appearances, verdict {label, rating}, review {publisher {name, site}, url, title, date, summary}, tags."),
        "Evidence": obj("An evidence excerpt: id, text, source, url, date, language, claims [{claim_id, stance}]."),
        "Record": obj("A Claim or an Evidence object; `kind` (\"claim\" or \"evidence\") defaults to the route's kind."),
        "Stats": obj("claims, evidence, by_verdict, by_publisher, index_bytes, segments, matcher, semantic_model_loaded.")
    })
}

/// The OpenAPI 3 document.
pub fn document() -> Value {
    let mut paths = Map::new();
    for r in ROUTES {
        let item = paths.entry(r.path).or_insert_with(|| json!({}));
        let op = operation(r).unwrap_or_else(|| json!({ "operationId": r.id, "summary": r.summary, "responses": {} }));
        item[r.method.to_ascii_lowercase()] = op;
    }
    json!({
        "openapi": "3.0.3",
        "info": {
            "title": "claimdex",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Find the prior fact-checks a statement repeats, with verdicts and evidence. Every error is `{\"error\": {\"code\", \"message\"}}`."
        },
        "paths": paths,
        "components": {
            "schemas": schemas(),
            "securitySchemes": { "bearer": { "type": "http", "scheme": "bearer", "description": "The token of CLAIMDEX_TOKEN or --token-file." } }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_route_is_documented() {
        for r in ROUTES {
            assert!(operation(r).is_some(), "{r:?} has no OpenAPI operation");
        }
        let doc = document();
        let n: usize = doc["paths"].as_object().unwrap().values().map(|p| p.as_object().unwrap().len()).sum();
        assert_eq!(n, ROUTES.len());
    }
}
