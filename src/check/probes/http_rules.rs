//! HTTP rules: methods, media types, request ids, paths.

use http::Method;

use crate::answer::Expected;
use crate::check::ctx::Ctx;
use crate::error::GraphCode;
use crate::generate::Rng;
use crate::target::Request;
use crate::target::oracles::{Oracle, Violation, judge};

use super::probe;

pub(super) async fn http_rules(ctx: &Ctx) {
    let mut rng = Rng::new(ctx.config().seed ^ 0x4774);
    let item = format!("/me/devices/{}", rng.guid().as_str());
    let own = format!("/users/{}/devices", ctx.user().user_id);
    let methods = ["PUT", "PATCH", "TRACE", "OPTIONS", "FROB"];
    let routes = ctx.profile().routes();
    let mut collections = vec![("/me/devices", "/me/devices")];
    if routes.user_collection.is_some() {
        collections.push(("/users/{id}/devices", &own));
    }
    let mut targets: Vec<(String, String, String)> = Vec::new();
    for (template, path) in collections {
        for m in methods.iter().chain(&["DELETE"]) {
            targets.push((m.to_string(), template.to_owned(), path.to_owned()));
        }
    }
    // DELETE on a device is 405 too where the profile has no delete route.
    let no_delete: &[&str] = if routes.delete { &[] } else { &["DELETE"] };
    for m in methods.iter().chain(&["POST"]).chain(no_delete) {
        targets.push((m.to_string(), "/me/devices/{id}".to_owned(), item.clone()));
    }
    for (method, template, path) in targets {
        let Ok(m) = Method::from_bytes(method.as_bytes()) else {
            continue;
        };
        let req = ctx.authorized(Request::new(m, path));
        let endpoint = format!("{method} {template}");
        let secrets = ctx.secrets();
        probe(
            ctx,
            "method not allowed",
            Oracle::Http,
            &endpoint,
            req,
            |r| {
                let not_allowed = Expected::error(GraphCode::MethodNotAllowed);
                let mut v = judge(Oracle::Http, r, &not_allowed, &secrets);
                let allow = r.header("allow").unwrap_or("");
                if r.status == 405 && !allow.to_ascii_uppercase().contains("GET") {
                    v.push(Violation::new(
                        Oracle::Http,
                        "allow",
                        "an Allow header listing the methods (GET among them)",
                        format!("Allow: {allow:?}"),
                    ));
                }
                v
            },
        )
        .await;
    }
    let not_found = [
        ("GET /me/devices/{id}", Method::GET, item.clone()),
        ("DELETE /me/devices/{id}", Method::DELETE, item.clone()),
        (
            "GET /me/unknown",
            Method::GET,
            "/me/no-such-collection".to_owned(),
        ),
    ];
    for (endpoint, method, path) in not_found {
        let req = ctx.authorized(Request::new(method, path));
        let secrets = ctx.secrets();
        probe(ctx, "unknown resource", Oracle::Http, endpoint, req, |r| {
            judge(
                Oracle::Http,
                r,
                &Expected::error(GraphCode::ResourceNotFound),
                &secrets,
            )
        })
        .await;
    }
}
