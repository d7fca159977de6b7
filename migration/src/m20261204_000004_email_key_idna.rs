//! One mailbox, one account (issue 11, CONTRACT.md §5.4): the email key now maps the domain
//! to its Unicode IDNA form and NFC-normalises the address, so `x@bücher.com`,
//! `x@xn--bcher-kva.com` and a decomposed spelling are one account. This re-keys every
//! stored row (template-written rows without a key included). The schema is unchanged, so
//! replicas of the previous release keep working; they key new logins the old way, which
//! only matters for IDN or decomposed addresses until they are replaced.

use std::collections::HashMap;

use sea_orm_migration::prelude::*;
use unicode_normalization::UnicodeNormalization;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let rows = stored_keys(manager).await?;
        let keyed: Vec<(String, Option<String>, String)> = rows
            .into_iter()
            .map(|(email, old)| {
                let new = key(&email);
                (email, old, new)
            })
            .collect();
        refuse_shared_keys(keyed.iter().map(|(_, _, new)| new.as_str()))?;
        for (email, old, new) in keyed {
            if old.as_deref() != Some(new.as_str()) {
                set_key(manager, email, new).await?;
            }
        }
        Ok(())
    }

    /// Back to the previous key (`trim().to_lowercase()`), which never merges addresses the
    /// new key keeps apart, so it cannot collide.
    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (email, _) in stored_keys(manager).await? {
            let old = email.trim().to_lowercase();
            set_key(manager, email, old).await?;
        }
        Ok(())
    }
}

/// Every stored address with its current key.
async fn stored_keys(manager: &SchemaManager<'_>) -> Result<Vec<(String, Option<String>)>, DbErr> {
    let query = Query::select()
        .columns(["email", "email_key"])
        .from("user")
        .to_owned();
    manager
        .get_connection()
        .query_all(&query)
        .await?
        .iter()
        .map(|row| Ok((row.try_get("", "email")?, row.try_get("", "email_key")?)))
        .collect()
}

async fn set_key(manager: &SchemaManager<'_>, email: String, key: String) -> Result<(), DbErr> {
    let update = Query::update()
        .table("user")
        .value("email_key", key)
        .and_where(Expr::col("email").eq(email))
        .to_owned();
    manager.get_connection().execute(&update).await?;
    Ok(())
}

/// Stops the migration, before anything changed, when existing accounts would merge: it
/// reports how many rows collide, never the addresses, and leaves the choice of which
/// account keeps the mailbox to the operator.
fn refuse_shared_keys<'a>(keys: impl Iterator<Item = &'a str>) -> Result<(), DbErr> {
    let mut holders: HashMap<&str, usize> = HashMap::new();
    for key in keys {
        *holders.entry(key).or_default() += 1;
    }
    let shared: Vec<usize> = holders.into_values().filter(|n| *n > 1).collect();
    if shared.is_empty() {
        return Ok(());
    }
    Err(DbErr::Migration(format!(
        "{} users share {} mailbox(es) spelt differently (an internationalised domain in its \
         Unicode and its xn-- form, or composed and decomposed characters), which Gatehouse now \
         treats as one account; resolve them (rename or delete all but one user per mailbox) \
         and run the migration again. Nothing was changed.",
        shared.iter().sum::<usize>(),
        shared.len()
    )))
}

/// `EmailKey::of` as of this migration, frozen here: the domain after the last `@` UTS-46
/// mapped to Unicode (kept as given when it is no valid IDNA name), the whole address
/// lower-cased and NFC-normalised. The application's key must never change without a
/// migration of its own; a test checks the two agree.
fn key(email: &str) -> String {
    let fold = |text: &str| -> String { text.to_lowercase().nfc().collect() };
    let trimmed = email.trim();
    match trimmed.rsplit_once('@') {
        Some((local, domain)) => {
            let domain = match idna::domain_to_unicode(domain) {
                (unicode, Ok(())) => unicode,
                (_, Err(_)) => domain.to_owned(),
            };
            format!("{}@{}", fold(local), fold(&domain))
        }
        None => fold(trimmed),
    }
}
