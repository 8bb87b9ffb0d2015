//! Creating staff accounts (`hoiluat staff add`): the rules an account must meet, the argon2id
//! hash of its password, and the audit entry. There is no default account or password.

use super::auth::{hash_password, PasswordError};
use crate::db::{Db, DbError, Role};

/// Longest user name, in bytes (ASCII only).
const MAX_USERNAME_CHARS: usize = 64;

#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error("username must be 1-64 characters of a-z, 0-9, '.', '_' or '-'")]
    InvalidUsername,
    #[error(transparent)]
    Password(#[from] PasswordError),
    #[error("cannot create {username:?} (does it exist already?): {source}")]
    Create { username: String, source: DbError },
    #[error(transparent)]
    Database(#[from] DbError),
    #[error("password hashing failed: {0}")]
    Task(String),
}

/// A user name is 1-64 ASCII letters, digits, '.', '_' or '-'. Checked before the password is
/// asked for.
pub fn check_username(username: &str) -> Result<(), AccountError> {
    let valid = (1..=MAX_USERNAME_CHARS).contains(&username.len())
        && username
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if valid {
        Ok(())
    } else {
        Err(AccountError::InvalidUsername)
    }
}

/// Creates an account and audits it; returns its id.
pub async fn add(
    db: &Db,
    username: String,
    display_name: String,
    role: Role,
    password: String,
) -> Result<i64, AccountError> {
    check_username(&username)?;
    let hash = tokio::task::spawn_blocking(move || hash_password(&password))
        .await
        .map_err(|e| AccountError::Task(e.to_string()))??;
    let id = db
        .create_staff(username.clone(), display_name, hash, role)
        .await
        .map_err(|source| AccountError::Create { username, source })?;
    db.audit(
        None,
        "staff_created",
        Some(format!("staff:{id}")),
        Some(role.as_str().into()),
    )
    .await?;
    Ok(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_names_are_checked() {
        assert!(check_username("nguyen.van-a_1").is_ok());
        for bad in ["", "có dấu", "a b", "x/y", &"a".repeat(65)] {
            assert!(check_username(bad).is_err(), "{bad}");
        }
    }
}
