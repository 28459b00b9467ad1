//! Console sessions: random ids in a cookie, kept in memory by their SHA-256, with an
//! idle and an absolute timeout, and one CSRF token each.
//!
//! A session starts before sign-in (the sign-in form needs a CSRF token too, against
//! login CSRF), moves to "second factor enrolment" at a first sign-in, and to "signed
//! in" once the password and a TOTP code were both right. Signing in makes a new
//! session id (no fixation), and signing out forgets the session.

use std::collections::{BTreeSet, HashMap};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use base64::Engine as _;
use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq as _;
use zeroize::Zeroizing;

use crate::auth::Role;

/// The most sessions kept; past it, expired ones are dropped and then the oldest.
const MAX_SESSIONS: usize = 10_000;

/// Where a session is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stage {
    /// Not signed in.
    Anonymous,
    /// Password right, first sign-in: the TOTP token is enrolled and shown, waiting for
    /// its first code.
    EnrollingFactor {
        /// The staff member.
        name: String,
    },
    /// Signed in.
    SignedIn {
        /// The staff member.
        name: String,
        /// Their roles.
        roles: BTreeSet<Role>,
    },
}

/// One session.
#[derive(Debug, Clone)]
pub struct Session {
    /// Where it is.
    pub stage: Stage,
    /// The CSRF token every form of this session carries.
    pub csrf: String,
    created: Instant,
    last_seen: Instant,
}

impl Session {
    /// The signed-in staff member and roles, if signed in.
    #[must_use]
    pub fn staff(&self) -> Option<(&str, &BTreeSet<Role>)> {
        match &self.stage {
            Stage::SignedIn { name, roles } => Some((name, roles)),
            _ => None,
        }
    }

    /// Whether `token` is this session's CSRF token (constant time).
    #[must_use]
    pub fn csrf_matches(&self, token: &str) -> bool {
        self.csrf.len() == token.len() && bool::from(self.csrf.as_bytes().ct_eq(token.as_bytes()))
    }
}

/// The sessions of the console.
#[derive(Debug)]
pub struct Sessions {
    idle: Duration,
    absolute: Duration,
    sessions: Mutex<HashMap<[u8; 32], Session>>,
}

/// A random value: 32 bytes from the operating system, base64url.
fn random_text() -> Option<Zeroizing<String>> {
    let mut bytes = Zeroizing::new([0u8; 32]);
    getrandom::fill(bytes.as_mut()).ok()?;
    Some(Zeroizing::new(
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes.as_ref()),
    ))
}

fn key_of(id: &str) -> [u8; 32] {
    Sha256::digest(id.as_bytes()).into()
}

impl Sessions {
    /// Sessions that end `idle` after their last request and `absolute` after they
    /// started.
    #[must_use]
    pub fn new(idle: Duration, absolute: Duration) -> Self {
        Self {
            idle,
            absolute,
            sessions: Mutex::new(HashMap::new()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<[u8; 32], Session>> {
        self.sessions
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn live(&self, session: &Session, now: Instant) -> bool {
        now.saturating_duration_since(session.last_seen) < self.idle
            && now.saturating_duration_since(session.created) < self.absolute
    }

    /// Starts a session at `stage` and returns its id (for the cookie), or `None` if
    /// the operating system gave no randomness.
    pub fn start(&self, stage: Stage) -> Option<(Zeroizing<String>, Session)> {
        let id = random_text()?;
        let csrf = random_text()?;
        let now = Instant::now();
        let session = Session {
            stage,
            csrf: csrf.to_string(),
            created: now,
            last_seen: now,
        };
        let mut sessions = self.lock();
        if sessions.len() >= MAX_SESSIONS {
            sessions.retain(|_, session| self.live(session, now));
            if sessions.len() >= MAX_SESSIONS
                && let Some(oldest) = sessions
                    .iter()
                    .min_by_key(|(_, session)| session.last_seen)
                    .map(|(key, _)| *key)
            {
                sessions.remove(&oldest);
            }
        }
        sessions.insert(key_of(&id), session.clone());
        Some((id, session))
    }

    /// The live session of `id`, its idle clock restarted; an expired one is forgotten.
    pub fn touch(&self, id: &str) -> Option<Session> {
        let now = Instant::now();
        let key = key_of(id);
        let mut sessions = self.lock();
        let session = sessions.get_mut(&key)?;
        if !self.live(session, now) {
            sessions.remove(&key);
            return None;
        }
        session.last_seen = now;
        Some(session.clone())
    }

    /// Forgets the session of `id`.
    pub fn end(&self, id: &str) {
        self.lock().remove(&key_of(id));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_expire_when_idle_and_at_their_absolute_limit() {
        let sessions = Sessions::new(Duration::from_millis(200), Duration::from_millis(500));
        let (id, session) = sessions.start(Stage::Anonymous).unwrap();
        assert_eq!(id.len(), 43);
        assert!(session.csrf_matches(&session.csrf.clone()));
        assert!(!session.csrf_matches("forged"));
        // Touched within the idle limit, it lives on...
        for _ in 0..3 {
            std::thread::sleep(Duration::from_millis(120));
            assert!(sessions.touch(&id).is_some());
        }
        // ...but not past the absolute limit (360 ms so far, plus 180).
        std::thread::sleep(Duration::from_millis(180));
        assert!(sessions.touch(&id).is_none());
        let (idle, _) = sessions.start(Stage::Anonymous).unwrap();
        std::thread::sleep(Duration::from_millis(250));
        assert!(sessions.touch(&idle).is_none());
        let (ended, _) = sessions.start(Stage::Anonymous).unwrap();
        sessions.end(&ended);
        assert!(sessions.touch(&ended).is_none());
        assert!(sessions.touch("not a session").is_none());
    }
}
