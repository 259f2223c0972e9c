//! Where a profile's devices live: the collection a caller creates in and lists, an
//! optional per-user collection, whether DELETE exists, and who sees a device.
//!
//! The suite names requests by the seed's paths (CONTRACT.md section 1): `/me/devices`,
//! `/me/devices/{id}`, `/users/{userId}/devices`, `/users/{userId}/devices/{id}`. A
//! profile's [`Routes`] turn them into the target's paths ([`Routes::resolve`]) and the
//! reports' labels into the target's terms ([`Routes::label`]), so Graph v1.0's
//! `POST /devices` is checked by the same probes as the seed's `POST /me/devices`.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

/// The suite's name for the caller's collection.
pub const ME: &str = "/me/devices";

/// The placeholder of a user's id in [`Routes::user_collection`].
pub const USER_ID: &str = "{userId}";

/// Who sees a device.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Scope {
    /// Each user sees only the devices they created (the seed).
    User,
    /// Every caller sees every device (Graph's `/devices`): no cross-user isolation to
    /// check.
    Tenant,
}

/// The routes of a profile (`[routes]` in a profile file; without one, the seed's). In a
/// `[routes]` table a key not given is `/me/devices`, no user collection, DELETE, per
/// user.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Routes {
    /// The caller's devices: `POST` creates, `GET` lists, `{collection}/{id}` reads (and
    /// deletes, with `delete`).
    #[serde(default = "me")]
    pub collection: String,
    /// One user's devices, `{userId}` in place of the id; `None` when the target has no
    /// such path (then creates go to `collection` and the cross-user path checks are
    /// skipped).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_collection: Option<String>,
    /// Whether `DELETE {collection}/{id}` exists (the clean-up and `lifecycle` need it).
    #[serde(default = "yes")]
    pub delete: bool,
    /// Who sees a device.
    #[serde(default = "per_user")]
    pub scope: Scope,
}

fn me() -> String {
    ME.to_owned()
}

fn yes() -> bool {
    true
}

fn per_user() -> Scope {
    Scope::User
}

impl Default for Routes {
    /// The seed's: `/me/devices` and `/users/{userId}/devices`, DELETE, per user.
    fn default() -> Self {
        Routes {
            collection: ME.to_owned(),
            user_collection: Some(format!("/users/{USER_ID}/devices")),
            delete: true,
            scope: Scope::User,
        }
    }
}

/// Why a `[routes]` table cannot be used.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RoutesError {
    /// A path that does not start with `/`, or has a query.
    #[error("route '{0}' must be a path starting with '/', without a query")]
    NotAPath(String),
    /// A user collection without `{userId}`.
    #[error("user_collection '{0}' needs the placeholder {{userId}}")]
    NoUserId(String),
    /// Per-user paths on tenant-wide devices.
    #[error("scope = \"tenant\" has no user_collection (every caller sees every device)")]
    TenantUserPaths,
    /// Two routes a server could not tell apart.
    #[error("user_collection '{0}' overlaps the collection or /openapi.json")]
    Overlap(String),
}

impl Routes {
    /// Checks the table.
    pub fn validate(&self) -> Result<(), RoutesError> {
        // Plain segments: no query, no placeholder but `{userId}`, nothing a router reads
        // as a parameter or a wildcard.
        let path_ok = |p: &str| {
            let p = p.replacen(USER_ID, "u", 1);
            p.len() > 1
                && p.starts_with('/')
                && p[1..].split('/').all(|seg| {
                    !seg.is_empty()
                        && !seg.starts_with([':', '*'])
                        && !seg.contains(['?', '#', '{', '}', '%'])
                })
        };
        let reserved = |p: &str| p == "/openapi.json" || p.starts_with("/openapi.json/");
        if !path_ok(&self.collection)
            || self.collection.contains(USER_ID)
            || reserved(&self.collection)
        {
            return Err(RoutesError::NotAPath(self.collection.clone()));
        }
        if let Some(u) = &self.user_collection {
            if !path_ok(u) {
                return Err(RoutesError::NotAPath(u.clone()));
            }
            if u.matches(USER_ID).count() != 1 {
                return Err(RoutesError::NoUserId(u.clone()));
            }
            let fixed = &u[..u.find(USER_ID).unwrap_or(0)];
            if u.starts_with(&format!("{}/", self.collection))
                || self.collection.starts_with(fixed)
                || reserved(fixed.trim_end_matches('/'))
            {
                return Err(RoutesError::Overlap(u.clone()));
            }
            if self.scope == Scope::Tenant {
                return Err(RoutesError::TenantUserPaths);
            }
        }
        Ok(())
    }

    /// `user`'s collection, when the target has one.
    pub fn user_collection(&self, user: &str) -> Option<String> {
        self.user_collection
            .as_ref()
            .map(|t| t.replace(USER_ID, user))
    }

    /// The target's path for a path as the suite names it: `/me/devices...` goes to the
    /// collection, `/users/{id}/devices...` to that user's collection (unchanged when the
    /// target has none); any other path unchanged.
    ///
    /// ```
    /// use devices_harness::contract::Routes;
    /// let graph = Routes { collection: "/devices".into(), user_collection: None, ..Routes::default() };
    /// assert_eq!(graph.resolve("/me/devices/abc?$top=1"), "/devices/abc?$top=1");
    /// assert_eq!(Routes::default().resolve("/users/u1/devices"), "/users/u1/devices");
    /// assert_eq!(graph.resolve("/me/unknown"), "/me/unknown");
    /// ```
    pub fn resolve<'a>(&self, path: &'a str) -> Cow<'a, str> {
        if let Some(rest) = after(path, ME) {
            if self.collection == ME {
                return Cow::Borrowed(path);
            }
            return Cow::Owned(format!("{}{rest}", self.collection));
        }
        if let Some((user, rest)) = user_path(path)
            && let Some(base) = self.user_collection(user)
        {
            return Cow::Owned(format!("{base}{rest}"));
        }
        Cow::Borrowed(path)
    }

    /// A report label (`POST /me/devices (concurrent burst)`, `GET
    /// /users/{other}/devices/{id}`) in the target's terms.
    pub fn label(&self, label: &str) -> String {
        let (method, rest) = match label.split_once(' ') {
            Some((m, rest)) if !m.starts_with('/') && rest.starts_with('/') => (Some(m), rest),
            _ => (None, label),
        };
        if !rest.starts_with('/') {
            return label.to_owned();
        }
        let (path, tail) = match rest.split_once(' ') {
            Some((path, tail)) => (path, Some(tail)),
            None => (rest, None),
        };
        let mut out = String::with_capacity(label.len() + 16);
        if let Some(m) = method {
            out.push_str(m);
            out.push(' ');
        }
        out.push_str(&self.resolve(path));
        if let Some(t) = tail {
            out.push(' ');
            out.push_str(t);
        }
        out
    }
}

/// The rest of `path` after `prefix`, when `prefix` ends at a segment boundary.
fn after<'a>(path: &'a str, prefix: &str) -> Option<&'a str> {
    let rest = path.strip_prefix(prefix)?;
    (rest.is_empty() || rest.starts_with('/') || rest.starts_with('?')).then_some(rest)
}

/// `("u1", "/x?y")` for `/users/u1/devices/x?y`.
fn user_path(path: &str) -> Option<(&str, &str)> {
    let rest = path.strip_prefix("/users/")?;
    let (user, rest) = rest.split_once('/')?;
    let rest = after(&format!("/{rest}"), "/devices").map(|r| r.len())?;
    Some((user, &path[path.len() - rest..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn graph() -> Routes {
        Routes {
            collection: "/devices".into(),
            user_collection: None,
            delete: true,
            scope: Scope::Tenant,
        }
    }

    #[test]
    fn the_seed_routes_are_the_identity() {
        let seed = Routes::default();
        for p in [
            "/me/devices",
            "/me/devices/x",
            "/me/devices?$top=1",
            "/users/u1/devices",
            "/users/u1/devices/x",
            "/me/unknown",
            "/me/devicesx",
        ] {
            assert_eq!(seed.resolve(p), p);
        }
        assert_eq!(
            seed.label("GET /users/{other}/devices/{id} (x)"),
            "GET /users/{other}/devices/{id} (x)"
        );
        assert!(seed.validate().is_ok());
    }

    #[test]
    fn other_routes_rewrite_paths_and_labels() {
        let g = graph();
        assert_eq!(g.resolve("/me/devices"), "/devices");
        assert_eq!(g.resolve("/me/devices/x/y?z"), "/devices/x/y?z");
        assert_eq!(g.resolve("/me/devicesx"), "/me/devicesx");
        // No user collection: a user path stays as it is (callers skip such requests).
        assert_eq!(g.resolve("/users/u1/devices"), "/users/u1/devices");
        assert_eq!(
            g.label("POST /me/devices (concurrent burst)"),
            "POST /devices (concurrent burst)"
        );
        assert_eq!(g.label("GET /me/devices/{id}"), "GET /devices/{id}");
        assert_eq!(g.label("response headers"), "response headers");
        assert_eq!(g.label("/me/devices (malformed)"), "/devices (malformed)");
        assert_eq!(g.label("/me/devices/{id}"), "/devices/{id}");
        let custom = Routes {
            user_collection: Some("/tenants/t/people/{userId}/things".into()),
            ..Routes::default()
        };
        assert_eq!(
            custom.resolve("/users/u1/devices/x"),
            "/tenants/t/people/u1/things/x"
        );
        assert_eq!(
            custom.label("GET /users/{other}/devices/{id}"),
            "GET /tenants/t/people/{other}/things/{id}"
        );
    }

    #[test]
    fn bad_tables_are_typed_errors() {
        let mut r = graph();
        r.collection = "devices".into();
        assert_eq!(r.validate(), Err(RoutesError::NotAPath("devices".into())));
        let r = Routes {
            user_collection: Some("/users/devices".into()),
            ..Routes::default()
        };
        assert!(matches!(r.validate(), Err(RoutesError::NoUserId(_))));
        let r = Routes {
            scope: Scope::Tenant,
            ..Routes::default()
        };
        assert_eq!(r.validate(), Err(RoutesError::TenantUserPaths));
        // What a router would take for a parameter, a wildcard or the same route.
        for bad in [
            "/x/{id}",
            "/x/:id",
            "/x/*rest",
            "/x//y",
            "/",
            "/x?y",
            "/openapi.json",
        ] {
            let r = Routes {
                collection: bad.into(),
                user_collection: None,
                ..Routes::default()
            };
            assert!(
                matches!(r.validate(), Err(RoutesError::NotAPath(_))),
                "{bad}"
            );
        }
        for overlap in [
            "/me/devices/{userId}",
            "/me/{userId}/devices",
            "/openapi.json/{userId}",
        ] {
            let r = Routes {
                user_collection: Some(overlap.into()),
                ..Routes::default()
            };
            assert!(
                matches!(r.validate(), Err(RoutesError::Overlap(_))),
                "{overlap}"
            );
        }
    }
}
