//! Security defaults: loopback bind, no CORS, the token never in logs or answers, nothing served
//! from disk (see also tests/http.rs `page_is_embedded_html` and `writes_need_the_token`).

use std::io::{BufRead, BufReader};
use std::process::Stdio;

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use claimdex::cli::{Cli, Command};
use clap::Parser;

use crate::http::{claimdex, get, http_with_token, send, state, Server, TOKEN};

#[test]
fn serve_binds_to_loopback_by_default() {
    let cli = Cli::try_parse_from(["claimdex", "serve"]).unwrap();
    let Command::Serve(a) = cli.command else { panic!("not serve") };
    assert!(a.addr.ip().is_loopback(), "{}", a.addr);
}

#[tokio::test]
async fn no_cors_headers_unless_configured() {
    let s = state(Some(TOKEN));
    let req = Request::get("/api/search?q=amnesty").header(header::ORIGIN, "https://evil.example").body(Body::empty());
    let a = send(&s, req.unwrap()).await;
    assert_eq!(a.status, StatusCode::OK);
    assert!(!a.headers.keys().any(|k| k.as_str().starts_with("access-control-")), "{:?}", a.headers);
    // A preflight for a write from another origin is not approved.
    let req = Request::builder()
        .method(Method::OPTIONS)
        .uri("/api/claims")
        .header(header::ORIGIN, "https://evil.example")
        .header(header::ACCESS_CONTROL_REQUEST_METHOD, "POST")
        .header(header::ACCESS_CONTROL_REQUEST_HEADERS, "authorization, content-type")
        .body(Body::empty())
        .unwrap();
    let a = send(&s, req).await;
    assert!(!a.status.is_success(), "{}", a.status);
    assert!(!a.headers.keys().any(|k| k.as_str().starts_with("access-control-")), "{:?}", a.headers);
    // Nothing but the embedded page: no directory listing, no files.
    for p in ["/corpus/", "/index/meta.json", "/.git/config", "/static/"] {
        assert_eq!(get(&s, p).await.status, StatusCode::NOT_FOUND, "{p}");
    }
}

#[test]
fn the_token_never_reaches_the_logs() {
    let dir = tempfile::tempdir().unwrap();
    let index = dir.path().join("index");
    // The most verbose logging there is, hyper's included.
    let mut cmd = claimdex(&index, Some(TOKEN));
    cmd.env("CLAIMDEX_LOG", "trace").stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    // Drain stderr from the start: trace logs fill a pipe long before the server is up.
    let stderr = child.stderr.take().unwrap();
    let drain = std::thread::spawn(move || {
        let mut log = String::new();
        std::io::Read::read_to_string(&mut BufReader::new(stderr), &mut log).ok();
        log
    });
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let addr = line.trim().strip_prefix("listening on http://").unwrap().to_string();
    let server = Server { child, addr };
    let body = r#"{"id": "sec-1", "text": "A claim written with the token."}"#;
    assert_eq!(http_with_token(&server.addr, "POST", "/api/claims", Some(body), Some(TOKEN)).0, 200);
    assert_eq!(http_with_token(&server.addr, "POST", "/api/claims", Some(body), Some("s3cret-tokem")).0, 403);
    let (status, answer) = http_with_token(&server.addr, "DELETE", "/api/claims/sec-1", None, Some("wrong"));
    assert_eq!(status, 403);
    assert!(!answer.contains(TOKEN));
    drop(server); // kills the server; its stderr ends
    let log = drain.join().unwrap();
    assert!(log.contains("records written"), "the log was captured: {}", &log[..log.len().min(2000)]);
    assert!(!log.contains(TOKEN), "the token is in the log");
    assert!(
        !log.contains("s3cret-tokem") && !log.to_ascii_lowercase().contains("bearer "),
        "a bearer header is in the log"
    );
}
