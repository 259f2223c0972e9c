//! [`AppError`]: every non-2xx answer of the reference server, in Graph's error shape.
//!
//! A handler returns an `AppError`; its response carries the status, the headers the
//! contract asks for (`WWW-Authenticate`, `Allow`, `Retry-After`) and a [`GraphError`]
//! extension, which the request-id layer turns into the body with its `innerError`
//! (`date`, `request-id`, `client-request-id`).

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::error::PayloadError;

/// A Graph error about to be written: code and message (the body is filled in by the
/// request-id layer, which knows the ids).
#[derive(Clone, Debug)]
pub struct GraphError {
    /// Graph error code, such as `Request_BadRequest`.
    pub code: &'static str,
    /// Human-readable message; never holds a token, SQL or a stack trace.
    pub message: String,
}

/// Why a request failed.
#[derive(Debug)]
pub enum AppError {
    /// 400: the body is not a valid device.
    Payload(PayloadError),
    /// 400: a query option is malformed.
    BadQuery(String),
    /// 401: no, an empty, a malformed or an unknown token.
    Unauthorized,
    /// 403: another user's path.
    Forbidden,
    /// 404: no such device or path.
    NotFound,
    /// 405, with the methods allowed.
    MethodNotAllowed(&'static str),
    /// 408: the body did not arrive in time.
    Timeout,
    /// 409: the client-supplied id exists.
    Conflict(String),
    /// 413: the body is over the limit.
    TooLarge,
    /// 415: not `application/json` in UTF-8.
    UnsupportedMediaType,
    /// 429: over the per-user rate limit.
    TooManyRequests,
    /// 503: the store failed (not the client's fault; details are not sent).
    Unavailable,
}

impl AppError {
    fn parts(&self) -> (StatusCode, &'static str, String) {
        match self {
            AppError::Payload(e) => (StatusCode::BAD_REQUEST, e.code().as_str(), e.message()),
            AppError::BadQuery(m) => (StatusCode::BAD_REQUEST, "BadRequest", m.clone()),
            AppError::Unauthorized => (
                StatusCode::UNAUTHORIZED,
                "InvalidAuthenticationToken",
                "Access token is empty, malformed or not valid.".into(),
            ),
            AppError::Forbidden => (
                StatusCode::FORBIDDEN,
                "Authorization_RequestDenied",
                "Insufficient privileges to complete the operation.".into(),
            ),
            AppError::NotFound => (
                StatusCode::NOT_FOUND,
                "Request_ResourceNotFound",
                "Resource does not exist or one of its queried reference-property objects are not present.".into(),
            ),
            AppError::MethodNotAllowed(_) => (
                StatusCode::METHOD_NOT_ALLOWED,
                "MethodNotAllowed",
                "The method is not allowed on this resource.".into(),
            ),
            AppError::Timeout => (
                StatusCode::REQUEST_TIMEOUT,
                "RequestTimeout",
                "The request body did not arrive in time.".into(),
            ),
            AppError::Conflict(id) => (
                StatusCode::CONFLICT,
                "Request_MultipleObjectsWithSameKeyValue",
                format!("Another object with the same value for property id already exists: {id}."),
            ),
            AppError::TooLarge => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "RequestEntityTooLarge",
                "The request body is larger than 4194304 bytes.".into(),
            ),
            AppError::UnsupportedMediaType => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "UnsupportedMediaType",
                "Content-Type must be application/json in UTF-8.".into(),
            ),
            AppError::TooManyRequests => (
                StatusCode::TOO_MANY_REQUESTS,
                "TooManyRequests",
                "Too many requests; retry after the time given in Retry-After.".into(),
            ),
            AppError::Unavailable => (
                StatusCode::SERVICE_UNAVAILABLE,
                "ServiceUnavailable",
                "The service is temporarily unavailable.".into(),
            ),
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let (status, code, message) = self.parts();
        let mut response = status.into_response();
        let headers = response.headers_mut();
        match &self {
            AppError::Unauthorized => {
                headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            }
            AppError::MethodNotAllowed(allow) => {
                headers.insert(header::ALLOW, HeaderValue::from_static(allow));
            }
            AppError::TooManyRequests => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            }
            AppError::TooLarge | AppError::Timeout => {
                headers.insert(header::CONNECTION, HeaderValue::from_static("close"));
            }
            _ => {}
        }
        response
            .extensions_mut()
            .insert(GraphError { code, message });
        response
    }
}

impl From<PayloadError> for AppError {
    fn from(e: PayloadError) -> Self {
        AppError::Payload(e)
    }
}
