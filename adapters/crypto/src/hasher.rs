//! [`Argon2Hasher`]: the `PasswordHasher` port. New hashes are Argon2id with the configured
//! parameters; stored Argon2 and legacy bcrypt hashes verify with the libraries' constant-time
//! verifiers (PW-03); all of it on the bounded pool.

use std::sync::Arc;

use argon2::password_hash::phc::{Output, ParamsString, Salt};
use argon2::password_hash::{self, try_generate_salt};
use argon2::{Algorithm, Argon2, Params, PasswordHash, Version};
use async_trait::async_trait;
use gatehouse_domain::ports::{PasswordHasher, Verification};
use gatehouse_domain::{Infra, Password, PasswordHash as StoredPasswordHash};
use tracing::instrument;

use crate::memory::WorkingMemory;
use crate::params::{HashParams, HasherConfigError, PoolLimits};
use crate::pool::BlockingPool;
use crate::stored::{StoredHash, classify};

/// What an unknown account, a refused hash or a wrong password answers.
const NO_MATCH: Verification = Verification {
    matches: false,
    needs_rehash: false,
};

/// Argon2id password hashing on a bounded blocking pool.
pub struct Argon2Hasher {
    work: Arc<Work>,
    pool: BlockingPool,
}

/// The CPU-bound part, shared with the blocking tasks.
struct Work {
    argon2: Argon2<'static>,
    params: HashParams,
    memory: WorkingMemory,
    /// Verified in place of a missing account's hash (EN-02): same parameters, same cost.
    dummy: StoredHash,
}

impl Argon2Hasher {
    /// Builds the hasher and computes, once, the dummy hash that unknown accounts verify against.
    ///
    /// This runs one hash synchronously (tens of milliseconds at the default cost): call it at
    /// start-up, not per request.
    ///
    /// # Errors
    /// `InvalidParams` when argon2 refuses `params`; `AboveCeiling` when they exceed
    /// [`HashParams::CEILING`] (our own hashes would then be refused at login).
    pub fn new(params: HashParams, limits: PoolLimits) -> Result<Self, HasherConfigError> {
        if params.exceeds_ceiling() {
            return Err(HasherConfigError::AboveCeiling);
        }
        let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.to_argon2()?);
        let memory = WorkingMemory::new(argon2.params().block_count());
        let dummy = hash_phc(&argon2, &memory, b"gatehouse: no such account")
            .map_err(HasherConfigError::DummyHash)?;
        let work = Work {
            argon2,
            params,
            memory,
            dummy: StoredHash::Argon2 {
                phc: Box::new(dummy),
                weaker: false,
            },
        };
        Ok(Self {
            work: Arc::new(work),
            pool: BlockingPool::new(limits),
        })
    }

    /// The parameters new hashes get.
    pub fn params(&self) -> HashParams {
        self.work.params
    }

    /// Hashes running right now, each holding a permit (for the metrics).
    pub fn permits_in_use(&self) -> usize {
        self.pool.in_use()
    }
}

impl std::fmt::Debug for Argon2Hasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Argon2Hasher")
            .field("params", &self.work.params)
            .field("pool", &self.pool)
            .finish_non_exhaustive()
    }
}

impl Work {
    fn hash(&self, password: &Password) -> Result<StoredPasswordHash, Infra> {
        let phc = hash_phc(&self.argon2, &self.memory, password.expose().as_bytes())
            .map_err(Infra::unexpected)?;
        Ok(StoredPasswordHash::new(phc.to_string()))
    }

    /// What argon2's `PasswordVerifier` does, in the kept working memory: the stored hash's own
    /// algorithm, version, costs and salt drive the computation, and the outputs are compared in
    /// constant time (`Output`'s `PartialEq`).
    fn verify_phc(&self, password: &[u8], phc: &PasswordHash) -> password_hash::Result<bool> {
        let (Some(salt), Some(expected)) = (&phc.salt, &phc.hash) else {
            return Ok(false);
        };
        let algorithm = Algorithm::new(phc.algorithm.as_str())?;
        let version = phc.version.map(Version::try_from).transpose()?;
        let params = Params::try_from(phc)?;
        let argon2 = Argon2::new(algorithm, version.unwrap_or_default(), params);
        let mut buffer = [0; Output::MAX_LENGTH];
        let output = &mut buffer[..expected.len()];
        self.memory.with(argon2.params().block_count(), |blocks| {
            argon2.hash_password_into_with_memory(password, salt, output, blocks)
        })?;
        Ok(Output::new(output)? == *expected)
    }

    /// Whether `password` matches `stored`, through constant-time comparisons.
    fn matches(&self, password: &Password, stored: &StoredHash) -> bool {
        let password = password.expose().as_bytes();
        match stored {
            StoredHash::Argon2 { phc, .. } => self.verify_phc(password, phc).unwrap_or(false),
            // Reads only the first 72 bytes (pitfall H6): accepted until the hash is upgraded.
            StoredHash::Bcrypt { modular } => bcrypt::verify(password, modular).unwrap_or(false),
        }
    }

    fn verify(&self, password: &Password, stored: Option<&StoredHash>) -> Verification {
        match stored {
            Some(stored) => {
                let matches = self.matches(password, stored);
                Verification {
                    matches,
                    needs_rehash: matches && stored.needs_rehash(),
                }
            }
            None => {
                // The same work as a real account, and never a match.
                let _ = self.matches(password, &self.dummy);
                NO_MATCH
            }
        }
    }
}

/// What argon2's `PasswordHasher::hash_password` makes with `argon2` (a fresh 16-byte salt from
/// the OS CSPRNG, PW-02; the default 32-byte output), computed in `memory`.
fn hash_phc(
    argon2: &Argon2<'_>,
    memory: &WorkingMemory,
    password: &[u8],
) -> password_hash::Result<PasswordHash> {
    let salt = try_generate_salt().map_err(|_| password_hash::Error::Crypto)?;
    let mut output = [0; Params::DEFAULT_OUTPUT_LEN];
    let params = argon2.params();
    memory.with(params.block_count(), |blocks| {
        argon2.hash_password_into_with_memory(password, &salt, &mut output, blocks)
    })?;
    Ok(PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(params)?,
        salt: Some(Salt::new(&salt)?),
        hash: Some(Output::new(&output)?),
    })
}

#[async_trait]
impl PasswordHasher for Argon2Hasher {
    #[instrument(level = "trace", skip_all)]
    async fn hash(&self, password: &Password) -> Result<StoredPasswordHash, Infra> {
        let work = Arc::clone(&self.work);
        let password = password.clone();
        self.pool
            .run(move || work.hash(&password))
            .await
            .and_then(|hashed| hashed)
            .map_err(|e| e.during("hasher.hash"))
    }

    #[instrument(level = "trace", skip_all)]
    async fn verify(
        &self,
        password: &Password,
        stored: Option<&StoredPasswordHash>,
    ) -> Result<Verification, Infra> {
        let stored = match stored.map(|h| classify(h.as_str(), self.work.params)) {
            None => None,
            Some(Ok(stored)) => Some(stored),
            Some(Err(refusal)) => {
                refusal.alert();
                return Ok(NO_MATCH);
            }
        };
        let work = Arc::clone(&self.work);
        let password = password.clone();
        self.pool
            .run(move || work.verify(&password, stored.as_ref()))
            .await
            .map_err(|e| e.during("hasher.verify"))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;
    use std::num::NonZeroUsize;
    use std::time::{Duration, Instant};

    use argon2::{PasswordHasher as _, PasswordVerifier as _};

    use super::*;
    use crate::pool::tests::occupy;

    /// Cheap parameters for tests that are not about cost.
    const CHEAP: HashParams = HashParams {
        memory_kib: 256,
        iterations: 1,
        parallelism: 1,
    };

    fn hasher(params: HashParams) -> Argon2Hasher {
        Argon2Hasher::new(params, PoolLimits::default()).unwrap()
    }

    /// A hasher whose pool a test can saturate with one blocker.
    fn single_permit(max_wait: Duration) -> Argon2Hasher {
        let limits = PoolLimits {
            permits: NonZeroUsize::MIN,
            max_wait,
        };
        Argon2Hasher::new(CHEAP, limits).unwrap()
    }

    fn password(raw: &str) -> Password {
        Password::new(raw).unwrap()
    }

    /// A hash made outside the hasher, e.g. by the FastAPI template or an older configuration.
    fn foreign_argon2(algorithm: Algorithm, params: HashParams, raw: &str) -> StoredPasswordHash {
        let argon2 = Argon2::new(algorithm, Version::V0x13, params.to_argon2().unwrap());
        StoredPasswordHash::new(argon2.hash_password(raw.as_bytes()).unwrap().to_string())
    }

    async fn verify(hasher: &Argon2Hasher, raw: &str, stored: &StoredPasswordHash) -> Verification {
        hasher.verify(&password(raw), Some(stored)).await.unwrap()
    }

    /// `right` verifies as `expected`; `right` with its last character changed does not match.
    async fn assert_verifies(
        hasher: &Argon2Hasher,
        right: &str,
        stored: &StoredPasswordHash,
        expected: Verification,
    ) {
        let mut wrong = right.to_owned();
        wrong.pop();
        wrong.push('#');
        assert_eq!(verify(hasher, right, stored).await, expected, "{right}");
        assert_eq!(verify(hasher, &wrong, stored).await, NO_MATCH, "{wrong}");
    }

    const MATCH: Verification = Verification {
        matches: true,
        needs_rehash: false,
    };
    const MATCH_REHASH: Verification = Verification {
        matches: true,
        needs_rehash: true,
    };

    #[tokio::test]
    async fn new_hashes_carry_exactly_the_configured_parameters() {
        for (params, prefix) in [
            (HashParams::default(), "$argon2id$v=19$m=19456,t=2,p=1$"),
            (
                HashParams {
                    memory_kib: 12_288,
                    iterations: 3,
                    parallelism: 2,
                },
                "$argon2id$v=19$m=12288,t=3,p=2$",
            ),
        ] {
            let hasher = hasher(params);
            let stored = hasher.hash(&password("correct horse")).await.unwrap();
            assert!(stored.as_str().starts_with(prefix), "{prefix}");
            assert_eq!(verify(&hasher, "correct horse", &stored).await, MATCH);
        }
    }

    #[tokio::test]
    async fn our_hashes_verify_with_argon2s_own_verifier() {
        let hasher = hasher(HashParams::default());
        let stored = hasher.hash(&password("correct horse")).await.unwrap();
        let phc = PasswordHash::new(stored.as_str()).unwrap();
        assert!(
            Argon2::default()
                .verify_password(b"correct horse", &phc)
                .is_ok()
        );
        assert!(
            Argon2::default()
                .verify_password(b"correct horsf", &phc)
                .is_err()
        );
    }

    #[tokio::test]
    async fn working_memory_is_kept_per_permit_not_per_computation() {
        let limits = PoolLimits {
            permits: NonZeroUsize::new(2).unwrap(),
            max_wait: Duration::from_secs(30),
        };
        let hasher = Arc::new(Argon2Hasher::new(CHEAP, limits).unwrap());
        let stored = hasher.hash(&password("correct horse")).await.unwrap();
        let mut logins = tokio::task::JoinSet::new();
        for _ in 0..8 {
            let (hasher, stored) = (Arc::clone(&hasher), stored.clone());
            logins.spawn(async move {
                hasher
                    .verify(&password("correct horse"), Some(&stored))
                    .await
            });
        }
        while let Some(login) = logins.join_next().await {
            assert_eq!(login.unwrap().unwrap(), MATCH);
        }
        assert!(hasher.work.memory.idle_buffers() <= 2);
    }

    #[tokio::test]
    async fn fifty_hashes_of_one_password_have_distinct_salts_of_16_bytes() {
        let hasher = hasher(CHEAP);
        let mut salts = HashSet::new();
        for _ in 0..50 {
            let stored = hasher.hash(&password("same password")).await.unwrap();
            let phc = PasswordHash::new(stored.as_str()).unwrap();
            let salt = phc.salt.unwrap();
            assert!(salt.len() >= 16, "PW-02: salt of {} bytes", salt.len());
            salts.insert(salt.to_string());
        }
        assert_eq!(salts.len(), 50);
    }

    #[tokio::test]
    async fn the_last_character_changed_does_not_match() {
        let hasher = hasher(CHEAP);
        let stored = hasher.hash(&password("  Pässwörd 🔑  ")).await.unwrap();
        assert_eq!(verify(&hasher, "  Pässwörd 🔑  ", &stored).await, MATCH);
        assert_eq!(verify(&hasher, "  Pässwörd 🔑 !", &stored).await, NO_MATCH);
        assert_eq!(
            verify(&hasher, "  Pässwörd 🔑", &stored).await,
            NO_MATCH,
            "never trimmed"
        );
    }

    #[tokio::test]
    async fn legacy_bcrypt_verifies_and_asks_for_an_upgrade() {
        let hasher = hasher(CHEAP);
        let b = bcrypt::hash("changethis-legacy", 4).unwrap();
        assert!(b.starts_with("$2b$04$"));
        for prefix in ["$2b$", "$2a$", "$2y$"] {
            let stored = StoredPasswordHash::new(b.replacen("$2b$", prefix, 1));
            assert_verifies(&hasher, "changethis-legacy", &stored, MATCH_REHASH).await;
        }
    }

    #[tokio::test]
    async fn weaker_hashes_ask_for_a_rehash_and_stronger_ones_are_kept() {
        let hasher = hasher(HashParams::default());
        let weak = HashParams {
            memory_kib: 8_192,
            iterations: 1,
            parallelism: 1,
        };
        let template = HashParams {
            memory_kib: 65_536,
            iterations: 3,
            parallelism: 4,
        };
        for (algorithm, params, prefix, expected) in [
            (
                Algorithm::Argon2id,
                weak,
                "$argon2id$v=19$m=8192,t=1,p=1$",
                MATCH_REHASH,
            ),
            (
                Algorithm::Argon2i,
                HashParams::default(),
                "$argon2i$v=19$m=19456,t=2,p=1$",
                MATCH_REHASH,
            ),
            (
                Algorithm::Argon2id,
                template,
                "$argon2id$v=19$m=65536,t=3,p=4$",
                MATCH,
            ),
        ] {
            let stored = foreign_argon2(algorithm, params, "old password");
            assert!(stored.as_str().starts_with(prefix), "{prefix}");
            assert_verifies(&hasher, "old password", &stored, expected).await;
        }
    }

    #[tokio::test]
    async fn a_hash_above_the_ceiling_is_refused_fast_without_the_pool() {
        let hasher = single_permit(Duration::from_millis(10));
        let genuine = hasher.hash(&password("correct horse")).await.unwrap();
        let tampered = StoredPasswordHash::new(genuine.as_str().replacen("m=256", "m=4194304", 1));
        assert!(tampered.as_str().contains("m=4194304"));

        // With the pool saturated, any verification that reached it would be Unavailable: the
        // refusal happening anyway proves the 4 GiB hash was never computed.
        let (release, blocker) = occupy(&hasher.pool).await;
        let started = Instant::now();
        let outcome = hasher
            .verify(&password("correct horse"), Some(&tampered))
            .await;
        assert_eq!(outcome.unwrap(), NO_MATCH);
        assert!(started.elapsed() < Duration::from_secs(1));
        release.send(()).unwrap();
        blocker.await;
    }

    #[tokio::test]
    async fn unknown_accounts_and_unparsable_hashes_do_not_match() {
        let hasher = hasher(CHEAP);
        let none = hasher.verify(&password("whatever123"), None).await.unwrap();
        assert_eq!(none, NO_MATCH);
        let plaintext = StoredPasswordHash::new("whatever123");
        assert_eq!(verify(&hasher, "whatever123", &plaintext).await, NO_MATCH);
    }

    #[tokio::test]
    async fn an_unknown_account_does_the_same_pooled_work_as_a_real_one() {
        let hasher = single_permit(Duration::from_millis(10));
        let (release, blocker) = occupy(&hasher.pool).await;
        let outcome = hasher.verify(&password("whatever123"), None).await;
        assert!(matches!(outcome, Err(Infra::Unavailable(_))), "{outcome:?}");
        release.send(()).unwrap();
        blocker.await;
    }

    #[tokio::test]
    async fn a_saturated_pool_makes_the_next_hash_unavailable() {
        let hasher = single_permit(Duration::from_millis(50));
        let (release, blocker) = occupy(&hasher.pool).await;
        let second = hasher.hash(&password("second login")).await;
        assert!(matches!(second, Err(Infra::Unavailable(_))), "{second:?}");
        release.send(()).unwrap();
        blocker.await;
        assert!(hasher.hash(&password("third login")).await.is_ok());
    }

    #[test]
    fn invalid_or_excessive_parameters_are_refused() {
        let invalid = HashParams {
            memory_kib: 4,
            iterations: 1,
            parallelism: 1,
        };
        assert!(matches!(
            Argon2Hasher::new(invalid, PoolLimits::default()),
            Err(HasherConfigError::InvalidParams(_))
        ));
        let zero_t = HashParams {
            iterations: 0,
            ..HashParams::default()
        };
        assert!(Argon2Hasher::new(zero_t, PoolLimits::default()).is_err());
        let huge = HashParams {
            memory_kib: 262_145,
            ..HashParams::default()
        };
        assert!(matches!(
            Argon2Hasher::new(huge, PoolLimits::default()),
            Err(HasherConfigError::AboveCeiling)
        ));
    }

    #[test]
    fn debug_shows_configuration_only() {
        let shown = format!("{:?}", hasher(CHEAP));
        assert!(shown.contains("memory_kib: 256"), "{shown}");
        assert!(!shown.contains("$argon2"), "{shown}");
    }
}
