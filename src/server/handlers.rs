//! The endpoints of CONTRACT.md section 1: create on both paths, read back, the paged
//! list, delete. Validation is the library's parser, the one the fuzzers attack.

use axum::body::Body;
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use bytes::Bytes;
use serde::Deserialize;

use super::error::AppError;
use super::store::Inserted;
use super::{AppState, Caller, body};
use crate::contract::{ClientId, MAX_BODY_BYTES, MAX_PAGE_SIZE, Scope, accepts_content_type};
use crate::model::{Guid, Member, RawJson};
use crate::parse::from_bytes_with;
use crate::ser::to_vec_with;

/// The list page size when `$top` is not given.
pub const DEFAULT_PAGE_SIZE: usize = 100;

/// Whose devices a caller's requests reach: their own, or the tenant's under a profile
/// whose devices every caller sees (`scope = "tenant"`).
fn owner(state: &AppState, caller: Caller) -> String {
    match state.profile().routes().scope {
        Scope::User => caller.id,
        Scope::Tenant => TENANT.to_owned(),
    }
}

/// The owner of every device under `scope = "tenant"` (not a user id: those are GUIDs).
const TENANT: &str = "tenant";

fn own_path(caller: &Caller, user: &str) -> Result<(), AppError> {
    // Same answer whether that user exists or not.
    if user.eq_ignore_ascii_case(&caller.id) {
        Ok(())
    } else {
        Err(AppError::Forbidden)
    }
}

/// `POST /me/devices` (the profile's collection).
pub async fn create_me(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    req: Request,
) -> Result<Response, AppError> {
    let collection = state.profile().routes().collection.clone();
    create(state, caller, collection, req).await
}

/// `POST /users/{usersId}/devices`.
pub async fn create_user(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(user): Path<String>,
    req: Request,
) -> Result<Response, AppError> {
    own_path(&caller, &user)?;
    let collection = user_collection(&state, &user);
    create(state, caller, collection, req).await
}

async fn create(
    state: AppState,
    caller: Caller,
    collection: String,
    req: Request,
) -> Result<Response, AppError> {
    let (parts, body) = req.into_parts();
    let content_type = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    if !content_type.is_some_and(accepts_content_type) {
        return Err(AppError::UnsupportedMediaType);
    }
    let length = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let bytes = body::read(body, length, MAX_BODY_BYTES, state.body_timeout()).await?;
    let profile = state.profile();
    let mut device = from_bytes_with(profile, &bytes)?;
    // Read-only properties are the server's: a client's values are ignored.
    for (def, slot) in profile
        .properties()
        .iter()
        .zip(device.properties.iter_mut())
    {
        if def.read_only && !def.key {
            *slot = None;
        }
    }
    let client_id = device.id(profile).cloned();
    let id = match client_id {
        Some(id) if profile.policies().client_id == ClientId::Honour => id,
        _ => {
            let id = super::fresh_guid();
            device.set_id(profile, id.clone());
            id
        }
    };
    if device.annotation("@odata.type").is_none() {
        device.annotations.insert(
            0,
            Member {
                name: "@odata.type".into(),
                value: RawJson::string(profile.odata_type()),
            },
        );
    }
    // One buffer for the store and the answer (a `Bytes` clone shares it).
    let stored = Bytes::from(to_vec_with(profile, &device));
    let key = id.as_str().to_ascii_lowercase();
    match state
        .store()
        .insert(key, owner(&state, caller), stored.clone())
        .await
    {
        Ok(Inserted::Created) => {}
        Ok(Inserted::Conflict) => return Err(AppError::Conflict(id.as_str().to_owned())),
        Err(_) => return Err(AppError::Unavailable),
    }
    let location = match parts
        .headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
    {
        Some(host) => format!("http://{host}{collection}/{id}"),
        None => format!("{collection}/{id}"),
    };
    let mut headers = HeaderMap::new();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if let Ok(v) = HeaderValue::from_str(&location) {
        headers.insert(header::LOCATION, v);
    }
    Ok((StatusCode::CREATED, headers, Body::from(stored)).into_response())
}

/// `GET /me/devices/{id}`.
pub async fn get_me(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    get(state, caller, id).await
}

/// `GET /users/{usersId}/devices/{id}`.
pub async fn get_user(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((user, id)): Path<(String, String)>,
) -> Result<Response, AppError> {
    own_path(&caller, &user)?;
    get(state, caller, id).await
}

async fn get(state: AppState, caller: Caller, id: String) -> Result<Response, AppError> {
    if Guid::parse(&id).is_err() {
        return Err(AppError::NotFound);
    }
    let owner = owner(&state, caller);
    match state.store().get(id.to_ascii_lowercase(), owner).await {
        Ok(Some(body)) => Ok(json(StatusCode::OK, body)),
        Ok(None) => Err(AppError::NotFound),
        Err(_) => Err(AppError::Unavailable),
    }
}

/// `DELETE /me/devices/{id}`.
pub async fn delete_me(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    delete(state, caller, id).await
}

/// `DELETE /users/{usersId}/devices/{id}`.
pub async fn delete_user(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((user, id)): Path<(String, String)>,
) -> Result<Response, AppError> {
    own_path(&caller, &user)?;
    delete(state, caller, id).await
}

async fn delete(state: AppState, caller: Caller, id: String) -> Result<Response, AppError> {
    if Guid::parse(&id).is_err() {
        return Err(AppError::NotFound);
    }
    let owner = owner(&state, caller);
    match state.store().delete(id.to_ascii_lowercase(), owner).await {
        Ok(true) => Ok(StatusCode::NO_CONTENT.into_response()),
        Ok(false) => Err(AppError::NotFound),
        Err(_) => Err(AppError::Unavailable),
    }
}

/// `user`'s collection path (the route exists only when the profile has one).
fn user_collection(state: &AppState, user: &str) -> String {
    state
        .profile()
        .routes()
        .user_collection(user)
        .unwrap_or_else(|| format!("/users/{user}/devices"))
}

/// The list's query options.
#[derive(Debug, Deserialize)]
pub struct ListQuery {
    #[serde(rename = "$top")]
    top: Option<String>,
    #[serde(rename = "$skiptoken")]
    skiptoken: Option<String>,
}

/// `GET /me/devices`.
pub async fn list_me(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    query: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, AppError> {
    let collection = state.profile().routes().collection.clone();
    list(state, caller, collection, headers, query).await
}

/// `GET /users/{usersId}/devices`.
pub async fn list_user(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(user): Path<String>,
    headers: HeaderMap,
    query: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, AppError> {
    own_path(&caller, &user)?;
    let collection = user_collection(&state, &user);
    list(state, caller, collection, headers, query).await
}

async fn list(
    state: AppState,
    caller: Caller,
    collection: String,
    headers: HeaderMap,
    query: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, AppError> {
    let Ok(Query(q)) = query else {
        return Err(AppError::BadQuery("Malformed query string.".into()));
    };
    let top = match q.top.as_deref() {
        None => DEFAULT_PAGE_SIZE,
        Some(t) => match t.parse::<usize>() {
            Ok(n) if (1..=MAX_PAGE_SIZE).contains(&n) => n,
            _ => {
                return Err(AppError::BadQuery(format!(
                    "Invalid value for $top: it must be an integer from 1 to {MAX_PAGE_SIZE}."
                )));
            }
        },
    };
    let after = match q.skiptoken.as_deref() {
        None => 0,
        Some(t) => t
            .parse::<i64>()
            .map_err(|_| AppError::BadQuery("Invalid $skiptoken.".into()))?,
    };
    let page = state
        .store()
        .list(owner(&state, caller), after, top)
        .await
        .map_err(|_| AppError::Unavailable)?;
    let base = match headers.get(header::HOST).and_then(|h| h.to_str().ok()) {
        Some(host) => format!("http://{host}"),
        None => String::new(),
    };
    let mut out = Vec::with_capacity(page.bodies.iter().map(Vec::len).sum::<usize>() + 256);
    out.extend_from_slice(b"{\"@odata.context\":");
    crate::ser::write_str(&mut out, &format!("{base}/$metadata#devices"));
    out.extend_from_slice(b",\"value\":[");
    for (i, b) in page.bodies.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(b);
    }
    out.push(b']');
    if let Some(next) = page.next {
        out.extend_from_slice(b",\"@odata.nextLink\":");
        let link = format!("{base}{collection}?$top={top}&$skiptoken={next}");
        crate::ser::write_str(&mut out, &link);
    }
    out.push(b'}');
    Ok(json(StatusCode::OK, out))
}

/// `GET /openapi.json`: the OpenAPI 3.1 description of the contract.
pub async fn openapi(State(state): State<AppState>) -> Json<serde_json::Value> {
    Json(super::openapi::document(state.profile()))
}

fn json(status: StatusCode, body: Vec<u8>) -> Response {
    (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        Body::from(body),
    )
        .into_response()
}

/// 405 with `Allow`, for every other method on a route.
pub fn not_allowed(allow: &'static str) -> impl Fn() -> std::future::Ready<AppError> + Clone {
    move || std::future::ready(AppError::MethodNotAllowed(allow))
}

/// 404 for every unknown path.
pub async fn not_found() -> AppError {
    AppError::NotFound
}
