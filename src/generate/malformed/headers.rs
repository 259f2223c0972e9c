//! Defects around a valid body: past the size limit, the media type, the token, another
//! user's path.

use super::doc::Doc;
use super::{Authorization, PathKind, RequestHeaders};
use super::{Broken, Defect, pick};
use crate::answer::Expected;
use crate::contract::MAX_BODY_BYTES;
use crate::error::GraphCode;
use crate::generate::Source;

/// `doc` broken by `defect`, one of this module's; `None` when it does not apply.
pub(super) fn apply(
    doc: &mut Doc<'_>,
    defect: Defect,
    src: &mut impl Source,
    headers: &mut RequestHeaders,
) -> Option<Broken> {
    match defect {
        Defect::BodyTooLarge => body_too_large(doc, src),
        Defect::NoContentType | Defect::WrongContentType | Defect::NonUtf8Charset => {
            content_type(doc, defect, src, headers)
        }
        Defect::MissingToken
        | Defect::EmptyToken
        | Defect::UnknownToken
        | Defect::WrongAuthScheme => token(doc, defect, src, headers),
        Defect::OtherUsersPath => other_users_path(doc, headers),
        _ => None,
    }
}

/// A valid device padded past 4 MiB.
fn body_too_large(doc: &mut Doc<'_>, src: &mut impl Source) -> Option<Broken> {
    Some({
        let body = doc.render();
        let target = MAX_BODY_BYTES + 1 + src.below(65_536) as usize;
        let mut b = Vec::with_capacity(target);
        b.push(b'{');
        b.resize(target.saturating_sub(body.len()) + 1, b' ');
        b.extend_from_slice(&body[1..]);
        let desc = format!("valid device padded to {} bytes", b.len());
        (b, Expected::error(GraphCode::RequestEntityTooLarge), desc)
    })
}

/// No, another or a non-UTF-8 `Content-Type`.
fn content_type(
    doc: &mut Doc<'_>,
    defect: Defect,
    src: &mut impl Source,
    headers: &mut RequestHeaders,
) -> Option<Broken> {
    Some({
        let value = match defect {
            Defect::NoContentType => None,
            Defect::WrongContentType => Some(pick(
                src,
                &[
                    "text/plain",
                    "application/xml",
                    "application/jsonx",
                    "application/x-www-form-urlencoded",
                    "json",
                ],
            )),
            _ => Some(pick(
                src,
                &[
                    "application/json; charset=iso-8859-1",
                    "application/json; charset=utf-16",
                    "application/json;charset=latin1",
                ],
            )),
        };
        headers.content_type = value.map(str::to_owned);
        (
            doc.render(),
            Expected::error(GraphCode::UnsupportedMediaType),
            format!("Content-Type {value:?}"),
        )
    })
}

/// No, an empty, an unknown or a non-Bearer token.
fn token(
    doc: &mut Doc<'_>,
    defect: Defect,
    src: &mut impl Source,
    headers: &mut RequestHeaders,
) -> Option<Broken> {
    Some({
        headers.authorization = match defect {
            Defect::MissingToken => Authorization::Missing,
            Defect::EmptyToken => {
                Authorization::Raw(pick(src, &["Bearer ", "Bearer", ""]).to_owned())
            }
            Defect::UnknownToken => {
                Authorization::Raw(format!("Bearer unknown-{:016x}", src.bits()))
            }
            _ => Authorization::Raw(
                pick(src, &["Basic dXNlcjpwYXNz", "Token abc", "Digest x"]).to_owned(),
            ),
        };
        let desc = format!("Authorization {:?}", headers.authorization);
        (
            doc.render(),
            Expected::error(GraphCode::InvalidAuthenticationToken),
            desc,
        )
    })
}

/// `POST /users/{id}/devices` with another user's id (only where the profile has per-user
/// paths).
fn other_users_path(doc: &mut Doc<'_>, headers: &mut RequestHeaders) -> Option<Broken> {
    doc.profile.routes().user_collection.as_ref()?;
    Some({
        headers.path = PathKind::OtherUser;
        (
            doc.render(),
            Expected::denied(),
            "POST /users/{another user}/devices".into(),
        )
    })
}
