//! Typed identifiers, so a user id can never be passed where an item id is expected.

use uuid::Uuid;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(Uuid);

        impl $name {
            /// A fresh random (v4) identifier: ids are unguessable (SECURITY.md EN-05).
            pub fn random() -> Self {
                Self(Uuid::new_v4())
            }

            /// Wraps an existing UUID (from storage or a parsed path parameter).
            pub const fn from_uuid(id: Uuid) -> Self {
                Self(id)
            }

            /// The underlying UUID.
            pub const fn as_uuid(&self) -> Uuid {
                self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

id_type!(
    /// Identifies a user (`"user".id`).
    UserId
);
id_type!(
    /// Identifies an item (`item.id`).
    ItemId
);
id_type!(
    /// Identifies a login session (`gatehouse_session.id`); access tokens name it.
    SessionId
);
