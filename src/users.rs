//! Users: who may sign requests, under which name, and who owns what.
//!
//! Three sources, one registry:
//! - the **admin**: the key pair from the environment, the config file's
//!   top-level keys, or the generated key file (as before there were users);
//! - `[[users]]` tables of the config file;
//! - users added at run time through the admin API (`/-/admin/users`),
//!   kept as store-wide documents `users/<name>` (sled in embedded mode, the
//!   meta bucket in gateway mode), so that every node sees them.
//!
//! A user's canonical id (64 hex digits, what S3 shows as `Owner/ID`) is
//! derived from the name alone, so it is stable across restarts and key
//! rotations. The admin may do anything on any bucket (as MinIO's root
//! user); other users own the buckets they create (see [`Identity::owns`]).
//!
//! The registry answers from an in-memory snapshot. A change made through
//! this process replaces it at once; in gateway mode another node's change
//! is read within the shared-state bound (one second), like every shared
//! setting. Secrets are never logged (`Debug` leaves them out) and never
//! returned after creation.

use crate::auth::Keyring;
use serde::{Deserialize, Serialize};
use sha2::Digest;
use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use storage::Store;

/// The admin's user name.
pub const ADMIN_NAME: &str = "admin";

/// Where the documents of run-time users live in the store.
const DOC_PREFIX: &str = "users/";

/// The canonical id of the user `name`: 64 hex digits.
pub fn canonical_id(name: &str) -> String {
    hex::encode(sha2::Sha256::digest(
        format!("imgbucket user\0{name}").as_bytes(),
    ))
}

/// Where a user comes from; only run-time users can be removed or rotated
/// through the API (the others are edited where they are defined).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Origin {
    /// The admin key pair.
    Admin,
    /// A `[[users]]` table of the config file.
    ConfigFile,
    /// Added through the admin API.
    Api,
}

/// An authenticated caller: what authorization and listings need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub name: String,
    /// The access key that signed the request.
    pub access_key: String,
    /// 64 hex digits, see [`canonical_id`].
    pub canonical_id: String,
    pub admin: bool,
}

impl Identity {
    /// Whether this caller owns a bucket whose recorded owner is `owner`
    /// (empty: made before there were users, so the admin's). The admin is
    /// treated as the owner of every bucket.
    pub fn owns(&self, owner: &str) -> bool {
        self.admin || owner == self.canonical_id
    }

    /// Whether a bucket recorded as `owner`'s was made by this caller (the
    /// admin's include those from before there were users). Listings and
    /// re-creation go by this, not by the admin's reach.
    pub fn made(&self, owner: &str) -> bool {
        owner == self.canonical_id || (self.admin && owner.is_empty())
    }
}

/// One user and its key pair.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    pub name: String,
    pub access_key: String,
    pub secret_key: String,
    /// Seconds since the epoch (run-time users; 0 for the others).
    #[serde(default)]
    pub created: u64,
}

impl std::fmt::Debug for User {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("User")
            .field("name", &self.name)
            .field("access_key", &self.access_key)
            .finish_non_exhaustive()
    }
}

/// A user as the admin API lists it: never its secret.
#[derive(Debug, Clone, Serialize)]
pub struct UserSummary {
    pub name: String,
    pub access_key: String,
    pub canonical_id: String,
    pub admin: bool,
    pub origin: Origin,
}

/// Why a user could not be added, removed or rotated.
#[derive(Debug, thiserror::Error)]
pub enum UserError {
    #[error("invalid user name {0:?}: use 1 to 64 of a-z, 0-9, '.', '_' and '-'")]
    InvalidName(String),
    #[error("the user {0} already exists")]
    Exists(String),
    #[error("there is no user {0}")]
    NoSuchUser(String),
    #[error("the user {0} is defined {1}; change it there")]
    NotManaged(String, &'static str),
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Store(#[from] storage::Error),
}

/// Checks a key pair given in the config file: an access key S3 clients
/// accept, and a secret too long to guess.
pub fn check_key_pair(what: &str, access_key: &str, secret_key: &str) -> Result<(), String> {
    let ok_key = (3..=128).contains(&access_key.len())
        && access_key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
    if !ok_key {
        return Err(format!(
            "{what}: the access key must be 3 to 128 of A-Z, a-z, 0-9, '.', '_' and '-'"
        ));
    }
    if secret_key.len() < 16 {
        return Err(format!(
            "{what}: the secret key is shorter than 16 characters"
        ));
    }
    Ok(())
}

fn valid_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b))
}

/// One consistent view of every user.
#[derive(Debug)]
struct Snapshot {
    /// Name → (user, origin).
    users: BTreeMap<String, (User, Origin)>,
    /// Access key → name.
    by_key: BTreeMap<String, String>,
    /// Canonical id → name (owners shown in listings look names up here).
    by_id: BTreeMap<String, String>,
    keyring: Arc<Keyring>,
}

impl Snapshot {
    fn build(fixed: &[(User, Origin)], stored: Vec<User>) -> Snapshot {
        let mut users = BTreeMap::new();
        for (u, origin) in fixed {
            users.insert(u.name.clone(), (u.clone(), *origin));
        }
        for u in stored {
            // A file-defined user wins over a stored one of the same name.
            users.entry(u.name.clone()).or_insert((u, Origin::Api));
        }
        let mut by_key = BTreeMap::new();
        for (name, (u, _)) in &users {
            by_key
                .entry(u.access_key.clone())
                .or_insert_with(|| name.clone());
        }
        let keyring = Arc::new(Keyring::new(
            by_key.iter().filter_map(|(key, name)| {
                users
                    .get(name)
                    .map(|(u, _)| (key.clone(), u.secret_key.clone()))
            }),
            None,
        ));
        let by_id = users
            .keys()
            .map(|name| (canonical_id(name), name.clone()))
            .collect();
        Snapshot {
            users,
            by_key,
            by_id,
            keyring,
        }
    }
}

/// The registry of users.
pub struct Users {
    store: Arc<dyn Store>,
    /// The admin and the config file's users, in that order.
    fixed: Vec<(User, Origin)>,
    /// How long a snapshot is trusted (gateway mode: other nodes add and
    /// remove users too); `None`: until this process changes it.
    ttl: Option<Duration>,
    current: RwLock<(Instant, Arc<Snapshot>)>,
    /// One reload at a time; the others use the snapshot they have.
    reloading: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for Users {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Users").finish_non_exhaustive()
    }
}

impl Users {
    /// A registry of the admin alone (`admin_key`), before the stored users
    /// are read ([`Users::load`]).
    pub fn new(store: Arc<dyn Store>, admin_key: (String, String)) -> Users {
        let fixed = vec![(
            User {
                name: ADMIN_NAME.into(),
                access_key: admin_key.0,
                secret_key: admin_key.1,
                created: 0,
            },
            Origin::Admin,
        )];
        let snapshot = Arc::new(Snapshot::build(&fixed, Vec::new()));
        Users {
            store,
            fixed,
            ttl: None,
            current: RwLock::new((Instant::now(), snapshot)),
            reloading: tokio::sync::Mutex::new(()),
        }
    }

    /// Adds the config file's `[[users]]`. Names must be unique and valid,
    /// secrets long enough, and no access key may serve two users.
    pub fn with_config_users(mut self, config_users: &[User]) -> Result<Users, String> {
        for u in config_users {
            if !valid_name(&u.name) {
                return Err(UserError::InvalidName(u.name.clone()).to_string());
            }
            check_key_pair(
                &format!("[[users]] {}", u.name),
                &u.access_key,
                &u.secret_key,
            )?;
            if self.fixed.iter().any(|(f, _)| f.name == u.name) {
                return Err(format!("[[users]]: the name {} is used twice", u.name));
            }
            if self.fixed.iter().any(|(f, _)| f.access_key == u.access_key) {
                return Err(format!(
                    "[[users]] {}: its access key is already another user's",
                    u.name
                ));
            }
            self.fixed.push((u.clone(), Origin::ConfigFile));
        }
        let snapshot = Arc::new(Snapshot::build(&self.fixed, Vec::new()));
        self.current = RwLock::new((Instant::now(), snapshot));
        Ok(self)
    }

    /// Re-reads stored users at least this often (gateway mode).
    pub fn with_ttl(mut self, ttl: Option<Duration>) -> Users {
        self.ttl = ttl;
        self
    }

    /// Reads the stored users now.
    pub async fn load(&self) -> Result<(), storage::Error> {
        let _one = self.reloading.lock().await;
        self.reload().await
    }

    async fn reload(&self) -> Result<(), storage::Error> {
        let mut stored = Vec::new();
        for (name, doc) in self.store.list_system_docs(DOC_PREFIX).await? {
            match serde_json::from_slice::<User>(&doc) {
                Ok(u) if valid_name(&u.name) => stored.push(u),
                _ => tracing::warn!(document = %name, "ignoring an unreadable user record"),
            }
        }
        let snapshot = Arc::new(Snapshot::build(&self.fixed, stored));
        if let Ok(mut current) = self.current.write() {
            *current = (Instant::now(), snapshot);
        }
        Ok(())
    }

    /// The current snapshot, re-read first when it is older than the TTL.
    async fn snapshot(&self) -> Arc<Snapshot> {
        let (read_at, snapshot) = match self.current.read() {
            Ok(c) => (c.0, c.1.clone()),
            Err(p) => {
                let c = p.into_inner();
                (c.0, c.1.clone())
            }
        };
        let stale = self.ttl.is_some_and(|ttl| read_at.elapsed() >= ttl);
        if !stale {
            return snapshot;
        }
        // One request re-reads; the others go on with what they have.
        let Ok(_one) = self.reloading.try_lock() else {
            return snapshot;
        };
        if let Err(e) = self.reload().await {
            tracing::warn!(error = %e, "cannot re-read the users; keeping the ones known");
            if let Ok(mut current) = self.current.write() {
                current.0 = Instant::now();
            }
        }
        match self.current.read() {
            Ok(c) => c.1.clone(),
            Err(_) => snapshot,
        }
    }

    /// The keys signatures are verified against, now.
    pub async fn keyring(&self) -> Arc<Keyring> {
        self.snapshot().await.keyring.clone()
    }

    /// The identity behind an access key that just signed a request.
    pub async fn identity(&self, access_key: &str) -> Option<Identity> {
        let s = self.snapshot().await;
        let name = s.by_key.get(access_key)?;
        let (_, origin) = s.users.get(name)?;
        Some(Identity {
            name: name.clone(),
            access_key: access_key.to_string(),
            canonical_id: canonical_id(name),
            admin: *origin == Origin::Admin,
        })
    }

    /// The display name of a canonical id, if a user has it (empty: the
    /// admin, see [`Identity::owns`]).
    pub async fn display_name(&self, id: &str) -> Option<String> {
        if id.is_empty() {
            return Some(ADMIN_NAME.into());
        }
        self.snapshot().await.by_id.get(id).cloned()
    }

    /// Every user, without secrets, sorted by name.
    pub async fn list(&self) -> Vec<UserSummary> {
        let s = self.snapshot().await;
        s.users
            .iter()
            .map(|(name, (u, origin))| UserSummary {
                name: name.clone(),
                access_key: u.access_key.clone(),
                canonical_id: canonical_id(name),
                admin: *origin == Origin::Admin,
                origin: *origin,
            })
            .collect()
    }

    /// Adds a user with a fresh key pair, returned once.
    pub async fn add(&self, name: &str) -> Result<User, UserError> {
        if !valid_name(name) {
            return Err(UserError::InvalidName(name.into()));
        }
        let _one = self.reloading.lock().await;
        self.reload().await?;
        if self.current_has(name) {
            return Err(UserError::Exists(name.into()));
        }
        let user = fresh_user(name)?;
        self.write(&user).await?;
        Ok(user)
    }

    /// Gives a run-time user a fresh key pair, returned once; the old one
    /// stops working at once.
    pub async fn rotate(&self, name: &str) -> Result<User, UserError> {
        let _one = self.reloading.lock().await;
        self.reload().await?;
        self.require_managed(name)?;
        let mut user = fresh_user(name)?;
        if let Some(doc) = self.store.system_doc(&doc_name(name)).await? {
            if let Ok(old) = serde_json::from_slice::<User>(&doc) {
                user.created = old.created;
            }
        }
        self.write(&user).await?;
        Ok(user)
    }

    /// Removes a run-time user; its key stops working at once. Its buckets
    /// stay, owned by its canonical id (the admin can still reach them).
    pub async fn remove(&self, name: &str) -> Result<(), UserError> {
        let _one = self.reloading.lock().await;
        self.reload().await?;
        self.require_managed(name)?;
        self.store.put_system_doc(&doc_name(name), None).await?;
        self.reload().await?;
        Ok(())
    }

    fn current_has(&self, name: &str) -> bool {
        match self.current.read() {
            Ok(c) => c.1.users.contains_key(name),
            Err(_) => false,
        }
    }

    fn require_managed(&self, name: &str) -> Result<(), UserError> {
        let origin = match self.current.read() {
            Ok(c) => c.1.users.get(name).map(|(_, o)| *o),
            Err(_) => None,
        };
        match origin {
            None => Err(UserError::NoSuchUser(name.into())),
            Some(Origin::Api) => Ok(()),
            Some(Origin::Admin) => Err(UserError::NotManaged(
                name.into(),
                "by the environment or the config file's top-level keys",
            )),
            Some(Origin::ConfigFile) => Err(UserError::NotManaged(
                name.into(),
                "in the config file ([[users]])",
            )),
        }
    }

    async fn write(&self, user: &User) -> Result<(), UserError> {
        let doc = serde_json::to_vec(user).map_err(|e| UserError::Invalid(e.to_string()))?;
        self.store
            .put_system_doc(&doc_name(&user.name), Some(doc))
            .await?;
        self.reload().await?;
        Ok(())
    }
}

fn doc_name(name: &str) -> String {
    format!("{DOC_PREFIX}{name}")
}

fn fresh_user(name: &str) -> Result<User, UserError> {
    let c = crate::config::generate_credentials().map_err(UserError::Invalid)?;
    Ok(User {
        name: name.into(),
        access_key: c.access_key,
        secret_key: c.secret_key,
        created: SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_ids_are_stable_hex_and_distinct() {
        let a = canonical_id("alice");
        assert_eq!(a.len(), 64);
        assert!(a.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_eq!(a, canonical_id("alice"));
        assert_ne!(a, canonical_id("bob"));
    }

    #[test]
    fn ownership_and_the_admin() {
        let alice = Identity {
            name: "alice".into(),
            access_key: "k".into(),
            canonical_id: canonical_id("alice"),
            admin: false,
        };
        assert!(alice.owns(&canonical_id("alice")));
        assert!(!alice.owns(&canonical_id("bob")));
        // Buckets from before users existed are the admin's.
        assert!(!alice.owns(""));
        let admin = Identity {
            admin: true,
            ..alice
        };
        assert!(admin.owns("") && admin.owns(&canonical_id("bob")));
    }

    #[test]
    fn names_and_key_pairs_are_checked() {
        assert!(valid_name("alice") && valid_name("a.b_c-9"));
        assert!(!valid_name("") && !valid_name("Alice") && !valid_name("a/b"));
        assert!(!valid_name(&"a".repeat(65)));
        assert!(check_key_pair("u", "AKIAEXAMPLE", "0123456789abcdef").is_ok());
        assert!(check_key_pair("u", "AKIAEXAMPLE", "short").is_err());
        assert!(check_key_pair("u", "a b", "0123456789abcdef").is_err());
    }
}
