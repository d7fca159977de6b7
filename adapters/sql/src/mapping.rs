//! Hand-written mapping between rows (`crate::entity`) and domain values, both ways. Rows
//! already stored are trusted: they were validated when written, or written by the
//! template, whose values the domain must still show as they are.

use gatehouse_domain::{
    Email, EndReason, FullName, Item, ItemDescription, ItemId, ItemPatch, ItemTitle, PasswordHash,
    Session, SessionId, User, UserId, UserPatch,
};
use sea_orm::Value;

use crate::db::Db;
use crate::entity::{item, session, user};

/// A stored user.
pub(crate) fn user_from_row(row: user::Model) -> User {
    User {
        id: UserId::from_uuid(row.id),
        email: Email::unchecked(row.email),
        is_active: row.is_active,
        is_superuser: row.is_superuser,
        full_name: row.full_name.map(FullName::from_stored),
        hashed_password: PasswordHash::new(row.hashed_password),
        created_at: row.created_at,
    }
}

/// Every column of `user`'s row, its email key included.
pub(crate) fn user_to_row(db: &Db, user: &User) -> Vec<(user::Column, Value)> {
    vec![
        (user::Column::Email, user.email.as_str().into()),
        (user::Column::IsActive, user.is_active.into()),
        (user::Column::IsSuperuser, user.is_superuser.into()),
        (
            user::Column::FullName,
            user.full_name
                .as_ref()
                .map(|n| n.as_str().to_owned())
                .into(),
        ),
        (
            user::Column::HashedPassword,
            user.hashed_password.as_str().into(),
        ),
        (user::Column::Id, user.id.as_uuid().into()),
        (user::Column::CreatedAt, db.at_opt(user.created_at)),
        (user::Column::EmailKey, user.email.key().as_str().into()),
    ]
}

/// The columns `patch` names, and only those (the email with its key).
pub(crate) fn patch_columns(patch: &UserPatch) -> Vec<(user::Column, Value)> {
    let mut columns = Vec::new();
    if let Some(email) = &patch.email {
        columns.push((user::Column::Email, email.as_str().into()));
        columns.push((user::Column::EmailKey, email.key().as_str().into()));
    }
    if let Some(full_name) = &patch.full_name {
        let name = full_name.as_ref().map(|n| n.as_str().to_owned());
        columns.push((user::Column::FullName, name.into()));
    }
    if let Some(is_active) = patch.is_active {
        columns.push((user::Column::IsActive, is_active.into()));
    }
    if let Some(is_superuser) = patch.is_superuser {
        columns.push((user::Column::IsSuperuser, is_superuser.into()));
    }
    if let Some(password) = &patch.password {
        columns.push((user::Column::HashedPassword, password.hash.as_str().into()));
    }
    columns
}

/// A stored item.
pub(crate) fn item_from_row(row: item::Model) -> Item {
    Item {
        id: ItemId::from_uuid(row.id),
        title: ItemTitle::from_stored(row.title),
        description: row.description.map(ItemDescription::from_stored),
        owner_id: UserId::from_uuid(row.owner_id),
        created_at: row.created_at,
    }
}

/// Every column of `item`'s row.
pub(crate) fn item_to_row(db: &Db, item: &Item) -> Vec<(item::Column, Value)> {
    vec![
        (
            item::Column::Description,
            item.description
                .as_ref()
                .map(|d| d.as_str().to_owned())
                .into(),
        ),
        (item::Column::Title, item.title.as_str().into()),
        (item::Column::Id, item.id.as_uuid().into()),
        (item::Column::OwnerId, item.owner_id.as_uuid().into()),
        (item::Column::CreatedAt, db.at_opt(item.created_at)),
    ]
}

/// The columns `patch` names, and only those.
pub(crate) fn item_patch_columns(patch: &ItemPatch) -> Vec<(item::Column, Value)> {
    let mut columns = Vec::new();
    if let Some(title) = &patch.title {
        columns.push((item::Column::Title, title.as_str().into()));
    }
    if let Some(description) = &patch.description {
        let text = description.as_ref().map(|d| d.as_str().to_owned());
        columns.push((item::Column::Description, text.into()));
    }
    columns
}

/// A stored session.
pub(crate) fn session_from_row(row: session::Model) -> Session {
    Session {
        id: SessionId::from_uuid(row.id),
        user_id: UserId::from_uuid(row.user_id),
        created_at: row.created_at,
        last_used_at: row.last_used_at,
        not_after: row.not_after,
        revoked_at: row.revoked_at,
        revoked_reason: row.revoked_reason.as_deref().map(EndReason::parse),
        user_agent: row.user_agent,
        ip: row.ip,
    }
}

/// Every column of `session`'s row.
pub(crate) fn session_to_row(db: &Db, session: &Session) -> Vec<(session::Column, Value)> {
    vec![
        (session::Column::Id, session.id.as_uuid().into()),
        (session::Column::UserId, session.user_id.as_uuid().into()),
        (session::Column::CreatedAt, db.at(session.created_at)),
        (session::Column::LastUsedAt, db.at(session.last_used_at)),
        (session::Column::NotAfter, db.at(session.not_after)),
        (session::Column::RevokedAt, db.at_opt(session.revoked_at)),
        (
            session::Column::RevokedReason,
            session.revoked_reason.map(|r| r.as_str().to_owned()).into(),
        ),
        (
            session::Column::UserAgent,
            session.user_agent.clone().into(),
        ),
        (session::Column::Ip, session.ip.clone().into()),
    ]
}
