//! The one way a JSON request body is read, for every endpoint that takes one (`POST /v1/ask` and
//! the widget's): the right content type, within the size limit, UTF-8, the expected fields. Every
//! way it can be wrong becomes an [`ApiError`] with its own code, never axum's plain-text
//! rejection.

use axum::body::Bytes;
use axum::extract::{FromRef, FromRequest, Request};
use axum::http::{header, HeaderMap, StatusCode};
use serde::de::DeserializeOwned;

use super::error::ApiError;

/// The largest body a router's JSON endpoints accept, in bytes. Its state provides it
/// (`FromRef`). Set the router's `DefaultBodyLimit` a little above it, so that the extractor
/// sees, and reports, an oversized body itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BodyLimit(pub usize);

/// A request type read from a JSON body.
pub trait JsonRequest: DeserializeOwned {
    /// The error for a body that is JSON but not this request (a missing field, an unknown one,
    /// a wrong type), or not JSON at all.
    fn invalid_json() -> ApiError {
        ApiError::invalid_json()
    }
}

/// A JSON request body: `JsonBody(request): JsonBody<AskRequest>` as a handler's last argument.
#[derive(Debug)]
pub struct JsonBody<T>(pub T);

impl<S, T> FromRequest<S> for JsonBody<T>
where
    S: Send + Sync,
    T: JsonRequest,
    BodyLimit: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        let BodyLimit(limit) = BodyLimit::from_ref(state);
        if !is_json(request.headers()) {
            return Err(ApiError::invalid_content_type());
        }
        let body = Bytes::from_request(request, state)
            .await
            .map_err(|rejection| {
                if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    ApiError::payload_too_large(limit)
                } else {
                    T::invalid_json()
                }
            })?;
        if body.len() > limit {
            return Err(ApiError::payload_too_large(limit));
        }
        let text = std::str::from_utf8(&body).map_err(|_| ApiError::invalid_utf8())?;
        serde_json::from_str(text)
            .map(JsonBody)
            .map_err(|_| T::invalid_json())
    }
}

/// `Content-Type: application/json`, with or without parameters (`; charset=utf-8`).
fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|mime| mime.trim().eq_ignore_ascii_case("application/json"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::error::ErrorCode;
    use axum::body::Body;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Probe {
        text: String,
    }

    impl JsonRequest for Probe {}

    async fn read(content_type: &str, body: impl Into<Body>) -> Result<String, ErrorCode> {
        let request = Request::post("/")
            .header(header::CONTENT_TYPE, content_type)
            .body(body.into())
            .unwrap();
        JsonBody::<Probe>::from_request(request, &BodyLimit(16))
            .await
            .map(|JsonBody(probe)| probe.text)
            .map_err(|error| error.code)
    }

    #[tokio::test]
    async fn every_way_a_body_is_wrong_has_its_code() {
        assert_eq!(
            read("application/json; charset=utf-8", r#"{"text":"ạ"}"#).await,
            Ok("ạ".to_owned())
        );
        assert_eq!(
            read("text/plain", r#"{"text":"a"}"#).await,
            Err(ErrorCode::InvalidContentType)
        );
        assert_eq!(
            read("application/json", r#"{"text":"quá dài rồi"}"#).await,
            Err(ErrorCode::PayloadTooLarge)
        );
        assert_eq!(
            read("application/json", vec![b'"', 0xff, b'"']).await,
            Err(ErrorCode::InvalidUtf8)
        );
        assert_eq!(
            read("application/json", r#"{"txt":"a"}"#).await,
            Err(ErrorCode::InvalidJson)
        );
    }
}
