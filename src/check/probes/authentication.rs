//! Authentication: no token, a bad token, another scheme: 401 with `WWW-Authenticate`.

use http::Method;

use crate::answer::Expected;
use crate::check::ctx::Ctx;
use crate::error::GraphCode;
use crate::generate::Rng;
use crate::target::Request;
use crate::target::oracles::{Oracle, judge};

use super::{probe, valid_body};

pub(super) async fn authentication(ctx: &Ctx) {
    let mut rng = Rng::new(ctx.config().seed ^ 0xa117);
    let unknown = format!("dh-unknown-{:016x}", rng.next_u64());
    let token = ctx.user().token.clone();
    let variants: [(&str, Option<String>); 7] = [
        ("missing", None),
        ("empty header", Some(String::new())),
        ("empty token", Some("Bearer ".to_owned())),
        ("scheme only", Some("Bearer".to_owned())),
        ("unknown token", Some(format!("Bearer {unknown}"))),
        ("token with a suffix", Some(format!("Bearer {token}x"))),
        ("wrong scheme", Some(format!("Basic {token}"))),
    ];
    let item = format!("/me/devices/{}", rng.guid().as_str());
    let (_, body) = valid_body(ctx, rng.next_u64(), None);
    let targets = [
        ("POST /me/devices", Method::POST, "/me/devices".to_owned()),
        ("GET /me/devices", Method::GET, "/me/devices".to_owned()),
        ("GET /me/devices/{id}", Method::GET, item),
    ];
    for (endpoint, method, path) in &targets {
        for (name, auth) in &variants {
            let mut req = Request::new(method.clone(), path.clone());
            if *method == Method::POST {
                req = req
                    .header("content-type", "application/json")
                    .body(body.clone());
            }
            if let Some(a) = auth {
                req = req.header("authorization", a);
            }
            let mut secrets = ctx.secrets();
            secrets.push(&unknown);
            probe(
                ctx,
                &format!("authentication: {name}"),
                Oracle::Authentication,
                endpoint,
                req,
                |r| {
                    let unauthorized = Expected::error(GraphCode::InvalidAuthenticationToken);
                    judge(Oracle::Authentication, r, &unauthorized, &secrets)
                },
            )
            .await;
        }
    }
}
