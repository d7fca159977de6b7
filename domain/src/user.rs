//! The user account, the changes a write may make to it, and the decisions every store
//! takes on the row as it is at the moment of writing (ARCHITECTURE.md "Concurrency").

use time::OffsetDateTime;

use crate::{Email, FullName, PasswordHash, UserId};

/// A user account as stored (`"user"` table of CONTRACT.md §8.1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct User {
    pub id: UserId,
    pub email: Email,
    pub is_active: bool,
    pub is_superuser: bool,
    pub full_name: Option<FullName>,
    pub hashed_password: PasswordHash,
    /// `None` only on rows written by old template releases.
    pub created_at: Option<OffsetDateTime>,
}

impl User {
    /// Whether this user may act on routes marked "super".
    pub fn is_active_superuser(&self) -> bool {
        self.is_active && self.is_superuser
    }
}

/// The columns one write means to change; a field left `None` is never written, so a
/// request that read the user earlier cannot put back a value that changed since (a
/// profile edit never restores an old password hash, a demotion or a deactivation).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UserPatch {
    pub email: Option<Email>,
    /// `Some(None)` clears the nullable name.
    pub full_name: Option<Option<FullName>>,
    pub is_active: Option<bool>,
    pub is_superuser: Option<bool>,
    pub password: Option<NewPassword>,
}

/// A password hash to store, with the compare-and-set condition of a change that verified
/// the current password first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewPassword {
    pub hash: PasswordHash,
    /// The stored hash the caller verified: the write happens only while it is still the
    /// stored one. `None` sets the password whatever it was (an admin, a reset link).
    pub replaces: Option<PasswordHash>,
}

/// Why a user write was refused on the row as it is now.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum UserRefusal {
    /// The password changed after the caller verified the old one (a concurrent change,
    /// reset or admin set won): the old password is no longer the current one.
    #[error("the password changed since it was verified")]
    PasswordChanged,
    /// The write would leave no active superuser (CONTRACT.md §9j).
    #[error("last active superuser")]
    LastActiveSuperuser,
}

impl UserPatch {
    /// Whether applying this patch may turn an active superuser into something else, so
    /// the store must first lock every active superuser (the one lock order of such writes).
    pub fn may_demote(&self) -> bool {
        self.is_active == Some(false) || self.is_superuser == Some(false)
    }

    /// Whether the patch writes a new password hash.
    pub fn sets_password(&self) -> bool {
        self.password.is_some()
    }

    /// The user after this patch, decided on `stored` — the row as it is now, read under
    /// the store's lock — where `another_active_superuser` says whether an active superuser
    /// other than this user exists at this moment. Both stores call this inside their
    /// atomic section and write only the columns the patch names.
    ///
    /// # Errors
    /// [`UserRefusal::PasswordChanged`] when the compare-and-set hash is not the stored one;
    /// [`UserRefusal::LastActiveSuperuser`] when the result would leave no active superuser.
    pub fn apply(
        &self,
        stored: &User,
        another_active_superuser: bool,
    ) -> Result<User, UserRefusal> {
        let mut user = stored.clone();
        if let Some(new) = &self.password {
            if new
                .replaces
                .as_ref()
                .is_some_and(|verified| *verified != stored.hashed_password)
            {
                return Err(UserRefusal::PasswordChanged);
            }
            user.hashed_password = new.hash.clone();
        }
        if let Some(email) = &self.email {
            user.email = email.clone();
        }
        if let Some(full_name) = &self.full_name {
            user.full_name = full_name.clone();
        }
        if let Some(is_active) = self.is_active {
            user.is_active = is_active;
        }
        if let Some(is_superuser) = self.is_superuser {
            user.is_superuser = is_superuser;
        }
        if removes_last_active_superuser(stored, Some(&user), another_active_superuser) {
            return Err(UserRefusal::LastActiveSuperuser);
        }
        Ok(user)
    }
}

/// The last-superuser rule (CONTRACT.md §9j), for updates (`after` is the new row) and
/// deletes (`after` is `None`): refused when `before` is an active superuser, `after` is
/// not, and no other active superuser exists.
pub fn removes_last_active_superuser(
    before: &User,
    after: Option<&User>,
    another_active_superuser: bool,
) -> bool {
    before.is_active_superuser()
        && !after.is_some_and(User::is_active_superuser)
        && !another_active_superuser
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(superuser: bool) -> User {
        User {
            id: UserId::random(),
            email: Email::unchecked("a@example.com"),
            is_active: true,
            is_superuser: superuser,
            full_name: None,
            hashed_password: PasswordHash::new("old".to_owned()),
            created_at: None,
        }
    }

    fn password(hash: &str, replaces: Option<&str>) -> Option<NewPassword> {
        Some(NewPassword {
            hash: PasswordHash::new(hash.to_owned()),
            replaces: replaces.map(|h| PasswordHash::new(h.to_owned())),
        })
    }

    #[test]
    fn an_empty_patch_keeps_the_row_as_it_is_now() {
        let mut stored = user(false);
        stored.hashed_password = PasswordHash::new("changed meanwhile".to_owned());
        assert_eq!(UserPatch::default().apply(&stored, false), Ok(stored));
    }

    #[test]
    fn a_verified_change_needs_the_hash_it_verified() {
        let stored = user(false);
        let change = UserPatch {
            password: password("new", Some("old")),
            ..UserPatch::default()
        };
        assert_eq!(
            change.apply(&stored, false).map(|u| u.hashed_password),
            Ok(PasswordHash::new("new".to_owned()))
        );
        let lost = UserPatch {
            password: password("new", Some("an older one")),
            ..UserPatch::default()
        };
        assert_eq!(
            lost.apply(&stored, false),
            Err(UserRefusal::PasswordChanged)
        );
        let set = UserPatch {
            password: password("new", None),
            ..UserPatch::default()
        };
        assert!(set.apply(&stored, false).is_ok(), "an admin set needs none");
    }

    #[test]
    fn the_last_active_superuser_cannot_be_demoted_deactivated_or_deleted() {
        let admin = user(true);
        for patch in [
            UserPatch {
                is_superuser: Some(false),
                ..UserPatch::default()
            },
            UserPatch {
                is_active: Some(false),
                ..UserPatch::default()
            },
        ] {
            assert!(patch.may_demote());
            assert_eq!(
                patch.apply(&admin, false),
                Err(UserRefusal::LastActiveSuperuser)
            );
            assert!(patch.apply(&admin, true).is_ok(), "another one remains");
        }
        assert!(removes_last_active_superuser(&admin, None, false));
        assert!(!removes_last_active_superuser(&admin, None, true));
        assert!(!removes_last_active_superuser(&user(false), None, false));
        let promote = UserPatch {
            is_superuser: Some(true),
            ..UserPatch::default()
        };
        assert!(!promote.may_demote());
    }
}
