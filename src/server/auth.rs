//! The write API's bearer token: the `WriteAccess` extractor and a constant-time comparison.

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, StatusCode};

use super::error::ApiError;
use super::AppState;

/// Proof that a request may write: extracting it checks `Authorization: Bearer <token>`.
///
/// No token configured → 403 (writes are disabled); no or malformed header → 401;
/// wrong token → 403. The token is never logged.
#[derive(Debug, Clone, Copy)]
pub struct WriteAccess;

impl FromRequestParts<Arc<AppState>> for WriteAccess {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &Arc<AppState>) -> Result<Self, Self::Rejection> {
        let Some(expected) = state.token.as_deref() else {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "writes_disabled",
                "writes are disabled on this server: start it with CLAIMDEX_TOKEN or --token-file to enable them",
            ));
        };
        let given = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
            .map(str::trim);
        match given {
            None => Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "writes need an `Authorization: Bearer <token>` header",
            )),
            Some(t) if constant_time_eq(t.as_bytes(), expected.as_bytes()) => Ok(WriteAccess),
            Some(_) => Err(ApiError::new(StatusCode::FORBIDDEN, "forbidden", "the bearer token is not valid")),
        }
    }
}

/// Compares two byte strings in time that depends only on the length of `expected`.
pub fn constant_time_eq(given: &[u8], expected: &[u8]) -> bool {
    let mut diff = (given.len() ^ expected.len()) as u64;
    for (i, e) in expected.iter().enumerate() {
        let g = given.get(i).copied().unwrap_or(!*e);
        diff |= u64::from(g ^ e);
    }
    std::hint::black_box(diff) == 0
}

#[cfg(test)]
mod tests {
    use super::constant_time_eq;

    #[test]
    fn compares_bytes() {
        assert!(constant_time_eq(b"secret", b"secret"));
        assert!(!constant_time_eq(b"secreT", b"secret"));
        assert!(!constant_time_eq(b"secret!", b"secret"));
        assert!(!constant_time_eq(b"secre", b"secret"));
        assert!(!constant_time_eq(b"", b"secret"));
    }
}
