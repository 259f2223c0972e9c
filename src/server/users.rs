//! Users and tokens: read from a file (`[{"id": "<guid>", "token": "<token>"}]`), or two
//! demo users made at start-up. Tokens are compared in constant time and never logged.

use std::path::Path;

use anyhow::{Context, bail};
use serde::Deserialize;

use crate::generate::Rng;
use crate::model::Guid;

/// One user.
#[derive(Clone, Deserialize)]
pub struct User {
    /// A lowercase GUID.
    pub id: String,
    /// The bearer token.
    pub token: String,
}

impl std::fmt::Debug for User {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("User")
            .field("id", &self.id)
            .field("token", &"<redacted>")
            .finish()
    }
}

impl User {
    /// Two demo users with fresh ids and tokens.
    pub fn demo(seed: u64) -> Vec<User> {
        let mut rng = Rng::new(seed);
        (0..2)
            .map(|_| {
                let id = rng.guid();
                let token = format!("dh-{:016x}{:016x}", rng.next_u64(), rng.next_u64());
                User {
                    id: id.as_str().to_owned(),
                    token,
                }
            })
            .collect()
    }

    /// Users from a JSON file; ids must be lowercase GUIDs, tokens non-empty and unique.
    pub fn load(path: &Path) -> anyhow::Result<Vec<User>> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read users file {}", path.display()))?;
        let users: Vec<User> = serde_json::from_str(&text).with_context(|| {
            format!(
                "users file {} is not [{{\"id\", \"token\"}}, ...]",
                path.display()
            )
        })?;
        for (i, u) in users.iter().enumerate() {
            if Guid::parse(&u.id).is_err() || u.id != u.id.to_ascii_lowercase() {
                bail!("user {i}: id '{}' is not a lowercase GUID", u.id);
            }
            if u.token.is_empty() || u.token.chars().any(char::is_whitespace) {
                bail!("user {i} ({}): the token is empty or has whitespace", u.id);
            }
            if users[..i]
                .iter()
                .any(|o| o.token == u.token || o.id == u.id)
            {
                bail!("user {i} ({}): id or token used twice", u.id);
            }
        }
        if users.is_empty() {
            bail!("users file {} has no users", path.display());
        }
        Ok(users)
    }
}

/// The users, looked up by token in constant time.
#[derive(Clone, Debug)]
pub struct Users(Vec<User>);

impl Users {
    /// Wraps a list of users.
    pub fn new(users: Vec<User>) -> Users {
        Users(users)
    }

    /// All users.
    pub fn all(&self) -> &[User] {
        &self.0
    }

    /// The user holding `token`. Every user's token is compared, each comparison taking
    /// the same time whatever matches, so timing reveals nothing about tokens.
    pub fn by_token(&self, token: &str) -> Option<&User> {
        let mut found = None;
        for u in &self.0 {
            if constant_time_eq(u.token.as_bytes(), token.as_bytes()) {
                found = Some(u);
            }
        }
        found
    }
}

/// Equality whose time depends only on the lengths, not on where the bytes differ.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    let mut diff = a.len() ^ b.len();
    for i in 0..a.len().max(b.len()) {
        let x = a.get(i).copied().unwrap_or(0);
        let y = b.get(i).copied().unwrap_or(0xff);
        diff |= usize::from(x ^ y);
    }
    diff == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constant_time_eq_is_equality() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(constant_time_eq(b"", b""));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
        assert!(!constant_time_eq(b"ab\xff", b"ab"));
        assert!(!constant_time_eq(b"", b"a"));
    }

    #[test]
    fn demo_users_are_distinct_and_debug_hides_tokens() {
        let users = User::demo(1);
        assert_eq!(users.len(), 2);
        assert_ne!(users[0].id, users[1].id);
        assert_ne!(users[0].token, users[1].token);
        assert!(!format!("{users:?}").contains(&users[0].token));
        let u = Users::new(users.clone());
        assert_eq!(
            u.by_token(&users[1].token).map(|u| &u.id),
            Some(&users[1].id)
        );
        assert!(u.by_token("nope").is_none());
    }
}
