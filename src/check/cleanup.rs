//! Clean-up: every device a run saw created (a 201 to a POST, with an id) is deleted at
//! the end with its owner's token, unless `--keep`; the report says how many were created,
//! deleted, already gone and left (with their ids and why). DELETE is optional for
//! targets: on one without it (405, 501) the devices are left and the report says so.

use std::collections::BTreeMap;
use std::sync::Mutex;

use futures_util::StreamExt;
use http::Method;

use super::ctx::Ctx;
use crate::model::Guid;
use crate::target::{Cleanup, Request, Response};

/// Whose device it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Owner {
    User,
    Other,
}

/// The devices a run created, and those it deleted itself.
#[derive(Debug, Default)]
pub(crate) struct Ledger {
    inner: Mutex<Entries>,
}

/// In the order the answers came: a device created again after a delete is live again.
#[derive(Debug, Default)]
struct Entries {
    /// Every id created, whose it is, and whether it is still there.
    live: BTreeMap<String, (Option<Owner>, bool)>,
    created: u64,
    deleted: u64,
}

impl Ledger {
    /// Notes a 201 to a POST (a device created) or a 204 to a DELETE (one deleted).
    pub(crate) fn note(&self, ctx: &Ctx, req: &Request, resp: &Response) {
        let Ok(mut e) = self.inner.lock() else {
            return;
        };
        if req.method == Method::POST && resp.status == 201 {
            if let Some(id) = created_id(resp) {
                e.created += 1;
                e.live.insert(id, (owner(ctx, req), true));
            }
        } else if req.method == Method::DELETE
            && resp.status == 204
            && let Some((_, live)) = e.live.get_mut(&deleted_id(req))
            && *live
        {
            *live = false;
            e.deleted += 1;
        }
    }

    /// Deletes what is left, `concurrency` at a time, unless `keep`.
    pub(crate) async fn clean_up(&self, ctx: &Ctx, keep: bool) -> Cleanup {
        let entries = match self.inner.lock() {
            Ok(mut e) => std::mem::take(&mut *e),
            Err(_) => return Cleanup::default(),
        };
        let mut out = Cleanup {
            created: entries.created,
            deleted: entries.deleted,
            ..Cleanup::default()
        };
        let todo: Vec<(String, Option<Owner>)> = entries
            .live
            .into_iter()
            .filter(|(_, (_, live))| *live)
            .map(|(id, (owner, _))| (id, owner))
            .collect();
        let why = if keep {
            Some("--keep".to_owned())
        } else if !ctx.profile().routes().delete {
            Some("the profile has no delete route (routes.delete = false)".to_owned())
        } else if ctx.dead() {
            Some(format!("no clean-up: {}", ctx.stop_reason()))
        } else {
            None
        };
        if let Some(why) = why {
            out.left = todo.into_iter().map(|(id, _)| id).collect();
            out.reason = (!out.left.is_empty()).then_some(why);
            return out;
        }
        let results: Vec<(String, Result<u16, String>)> = futures_util::stream::iter(todo)
            .map(|(id, owner)| async move {
                let result = delete(ctx, &id, owner).await;
                (id, result)
            })
            .buffer_unordered(ctx.config().concurrency.max(1))
            .collect()
            .await;
        out.tally(results);
        out
    }
}

/// Deletes `id` as its owner: the status, or why there is none.
async fn delete(ctx: &Ctx, id: &str, owner: Option<Owner>) -> Result<u16, String> {
    let who = match owner {
        Some(Owner::User) => ctx.user(),
        Some(Owner::Other) => ctx.other().ok_or("the second user is gone")?,
        None => return Err("created with credentials the run does not hold".to_owned()),
    };
    let req = ctx.authorized_as(
        Request::new(Method::DELETE, format!("/me/devices/{id}")),
        who,
    );
    match ctx.send(req).await {
        Ok(r) => Ok(r.status),
        Err(e) => Err(format!("DELETE failed: {e}")),
    }
}

/// The id of a created device, from its 201 body (lower case).
pub(super) fn created_id(resp: &Response) -> Option<String> {
    let body: serde_json::Value = serde_json::from_slice(&resp.body).ok()?;
    let id = body.get("id")?.as_str()?;
    Guid::parse(id)
        .ok()
        .map(|g| g.as_str().to_ascii_lowercase())
}

/// The id a DELETE names: its path's last segment (lower case).
pub(super) fn deleted_id(req: &Request) -> String {
    let path = req.path.split('?').next().unwrap_or_default();
    path.rsplit('/')
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase()
}

/// The token of a request's `Authorization` header (after its scheme).
pub(super) fn token_of(req: &Request) -> Option<&str> {
    Some(req.header_value("authorization")?.split_once(' ')?.1.trim())
}

/// Whose token created it.
fn owner(ctx: &Ctx, req: &Request) -> Option<Owner> {
    let token = token_of(req)?;
    if token == ctx.user().token {
        Some(Owner::User)
    } else if ctx.other().is_some_and(|o| o.token == token) {
        Some(Owner::Other)
    } else {
        None
    }
}
