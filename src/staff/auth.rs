//! Staff authentication: argon2id password hashes, random session tokens (only their SHA-256 is
//! stored), per-session CSRF tokens, and lock-out after repeated failures.

use std::sync::{Arc, Mutex, OnceLock};

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use rand::rngs::OsRng;
use rand::RngCore;
use sha2::{Digest, Sha256};

/// argon2id with OWASP's recommended minimum (19 MiB, 2 passes, 1 lane): about 30 ms per login on
/// this machine's class of CPU, which is nothing for a person and a lot for a guesser.
pub const ARGON2_MEMORY_KIB: u32 = 19 * 1024;
pub const ARGON2_PASSES: u32 = 2;
pub const ARGON2_LANES: u32 = 1;

/// Shortest accepted password.
pub const MIN_PASSWORD_CHARS: usize = 12;

fn argon2() -> Argon2<'static> {
    let params = Params::new(ARGON2_MEMORY_KIB, ARGON2_PASSES, ARGON2_LANES, None)
        .expect("constant argon2 parameters are valid");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    #[error("the password must be at least {MIN_PASSWORD_CHARS} characters")]
    TooShort,
    #[error("password hashing failed: {0}")]
    Hash(String),
}

/// Hashes a new password (PHC string with its salt and parameters).
pub fn hash_password(password: &str) -> Result<String, PasswordError> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(PasswordError::TooShort);
    }
    let salt = SaltString::generate(&mut OsRng);
    argon2()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| PasswordError::Hash(e.to_string()))
}

/// Checks a password against a stored hash; a malformed hash never verifies.
pub fn verify_password(password: &str, stored: &str) -> bool {
    PasswordHash::new(stored)
        .map(|hash| argon2().verify_password(password.as_bytes(), &hash).is_ok())
        .unwrap_or(false)
}

/// A hash to verify against when the user name is unknown, so that answering "wrong user" takes
/// as long as "wrong password" and does not reveal which accounts exist.
pub fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| hash_password("not-a-real-password-anyone-has").unwrap_or_default())
}

/// Password checks run at most this many at once, each on a thread of its own.
pub const CHECKING_THREADS: usize = 2;
/// Sign-ins admitted at once (being checked or waiting their turn); more are told to come back.
pub const ADMITTED_SIGN_INS: usize = 16;

/// Sign-in is busy: [`ADMITTED_SIGN_INS`] attempts are in progress already.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Busy;

/// The right to check one password: held from admission to the end of the sign-in, so that the
/// work and memory of sign-ins stay bounded whoever posts the form (it needs no account).
pub struct Admission(#[allow(dead_code)] tokio::sync::OwnedSemaphorePermit);

type Job = Box<dyn FnOnce() + Send>;

/// Password checking, bounded: argon2id takes 19 MiB and tens of milliseconds of a core per
/// check. Checks run on [`CHECKING_THREADS`] threads of their own, not on the runtime's shared
/// blocking pool (where a flood of them would take every thread the database and the answers
/// need, and leave each thread's allocator holding 19 MiB), and only [`ADMITTED_SIGN_INS`]
/// sign-ins are admitted at once.
///
/// One checker belongs to one console (its [`StaffState`](super::StaffState)), not to the
/// process, so that a flood against one console cannot refuse another's sign-ins. Cheap to
/// clone; its threads end when the last clone is dropped.
#[derive(Clone)]
pub struct PasswordChecker {
    admission: Arc<tokio::sync::Semaphore>,
    jobs: Arc<Mutex<std::sync::mpsc::Sender<Job>>>,
}

impl PasswordChecker {
    /// Starts the checking threads.
    pub fn new() -> PasswordChecker {
        let (jobs, queue) = std::sync::mpsc::channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        for n in 0..CHECKING_THREADS {
            let queue = Arc::clone(&queue);
            let spawned = std::thread::Builder::new()
                .name(format!("password-check-{n}"))
                .spawn(move || loop {
                    // The lock is held only while taking the next job.
                    let job = queue.lock().unwrap_or_else(|e| e.into_inner()).recv();
                    match job {
                        Ok(job) => job(),
                        // Every sender is gone: the console was dropped.
                        Err(_) => return,
                    }
                });
            if let Err(error) = spawned {
                tracing::error!(%error, "cannot start a password-checking thread");
            }
        }
        PasswordChecker {
            admission: Arc::new(tokio::sync::Semaphore::new(ADMITTED_SIGN_INS)),
            jobs: Arc::new(Mutex::new(jobs)),
        }
    }

    /// Admits one sign-in, or says it is busy, at once (no waiting: a flood is refused, not
    /// queued).
    pub fn admit(&self) -> Result<Admission, Busy> {
        self.admission
            .clone()
            .try_acquire_owned()
            .map(Admission)
            .map_err(|_| Busy)
    }

    /// Checks `password` against `stored` on the checking threads, in arrival order. A sign-in
    /// holds its [`Admission`] while it waits.
    pub async fn check(&self, _admitted: &Admission, password: String, stored: String) -> bool {
        let (done, result) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            let _ = done.send(verify_password(&password, &stored));
        });
        let sent = self
            .jobs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .send(job);
        if sent.is_err() {
            tracing::error!("no password-checking thread is running");
            return false;
        }
        result.await.unwrap_or(false)
    }
}

impl Default for PasswordChecker {
    fn default() -> PasswordChecker {
        PasswordChecker::new()
    }
}

/// A fresh random token (256 bits, hex).
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// What is stored for a session token.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_hash_with_argon2id_and_verify() {
        let hash = hash_password("một mật khẩu đủ dài").unwrap();
        assert!(
            hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{hash}"
        );
        assert!(verify_password("một mật khẩu đủ dài", &hash));
        assert!(!verify_password("một mật khẩu sai", &hash));
        assert!(!verify_password("x", "not a hash"));
        assert!(matches!(
            hash_password("short"),
            Err(PasswordError::TooShort)
        ));
        assert_ne!(
            hash,
            hash_password("một mật khẩu đủ dài").unwrap(),
            "salted"
        );
    }

    /// Each console has its own admission: a flood that fills one console's (as the flood test
    /// of tests/staff_console.rs does) refuses nobody at another console in the same process.
    #[tokio::test]
    async fn each_checker_admits_its_own_sign_ins_and_checks_passwords() {
        let flooded = PasswordChecker::new();
        let held: Vec<Admission> = (0..ADMITTED_SIGN_INS)
            .map(|_| flooded.admit().expect("within the limit"))
            .collect();
        assert!(flooded.admit().is_err(), "the limit is {ADMITTED_SIGN_INS}");

        let other = PasswordChecker::new();
        let admitted = other.admit().expect("another console is not busy");
        let hash = hash_password("một mật khẩu đủ dài").unwrap();
        assert!(
            other
                .check(&admitted, "một mật khẩu đủ dài".into(), hash.clone())
                .await
        );
        assert!(
            !other
                .check(&admitted, "sai mật khẩu rồi".into(), hash)
                .await
        );

        drop(held);
        assert!(
            flooded.admit().is_ok(),
            "admission comes back when sign-ins end"
        );
    }

    #[test]
    fn tokens_are_random_and_stored_hashed() {
        let a = random_token();
        assert_eq!(a.len(), 64);
        assert_ne!(a, random_token());
        assert_ne!(token_hash(&a), a);
    }
}
