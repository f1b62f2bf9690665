//! Basic auth and the rate limit of the web config, as the toolkit applies them: bcrypt hashes,
//! results cached so a scrape every few seconds does not pay bcrypt each time, one bcrypt at a
//! time and off the async workers, and an unknown user costing the same as a wrong password.

use hyper::header::HeaderValue;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, OnceLock};
use std::time::Instant;
use tokio::sync::Semaphore;

use super::{RateLimit, WebConfig};

/// Cached verdicts kept at most; the cache is emptied when full (the toolkit's is bounded too).
const CACHE_ENTRIES: usize = 1024;

/// bcrypt is slow on purpose: one runs at a time, so a flood of logins costs one core at most.
static BCRYPT: Semaphore = Semaphore::const_new(1);

/// Authentication and rate-limit state of one web config (replaced with it).
#[derive(Debug)]
pub struct Auth {
    users: BTreeMap<String, String>,
    /// A hash of a random password at the cost of the configured hashes, made on first need: an
    /// unknown user is checked against it, so the answer takes as long as for a known one.
    decoy: OnceLock<String>,
    /// Verdicts by SHA-256 of (salt, user, hash, password): no password is kept in memory.
    cache: Mutex<HashMap<[u8; 32], bool>>,
    salt: [u8; 16],
    limiter: Option<Mutex<Bucket>>,
}

impl Auth {
    /// The state for `config`.
    pub fn new(config: &WebConfig) -> Auth {
        let mut salt = [0u8; 16];
        // A failure leaves a zero salt: the cache key is still a SHA-256 of the password.
        let _ = ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut salt);
        Auth {
            users: config.users.clone(),
            decoy: OnceLock::new(),
            cache: Mutex::new(HashMap::new()),
            salt,
            limiter: config.rate_limit.map(|r| Mutex::new(Bucket::new(r))),
        }
    }

    /// Whether the rate limit lets one more request through now.
    pub fn allow_request(&self) -> bool {
        match &self.limiter {
            None => true,
            Some(bucket) => bucket.lock().unwrap_or_else(|e| e.into_inner()).take(),
        }
    }

    /// Whether the request's `Authorization` header lets it in: always without users.
    pub async fn admits(&self, authorization: Option<&HeaderValue>) -> bool {
        if self.users.is_empty() {
            return true;
        }
        let Some((user, password)) = authorization.and_then(basic_credentials) else {
            return false;
        };
        let known = self.users.get(&user);
        let hash = match known {
            Some(h) => h.clone(),
            None => self.decoy().to_string(),
        };
        let key = self.key(&user, &hash, &password);
        if let Some(verdict) = self.cached(&key) {
            return verdict && known.is_some();
        }
        let Ok(_one_at_a_time) = BCRYPT.acquire().await else {
            return false;
        };
        let matches = tokio::task::spawn_blocking(move || {
            bcrypt::verify(password.as_bytes(), &hash).unwrap_or(false)
        })
        .await
        .unwrap_or(false);
        let verdict = matches && known.is_some();
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        if cache.len() >= CACHE_ENTRIES {
            cache.clear();
        }
        cache.insert(key, verdict);
        verdict
    }

    fn decoy(&self) -> &str {
        self.decoy.get_or_init(|| {
            let cost = self
                .users
                .values()
                .filter_map(|h| h.parse::<bcrypt::HashParts>().ok())
                .map(|p| p.get_cost())
                .max()
                .unwrap_or(bcrypt::DEFAULT_COST);
            let mut random = [0u8; 16];
            let _ = ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut random);
            bcrypt::hash(random, cost).unwrap_or_default()
        })
    }

    fn key(&self, user: &str, hash: &str, password: &str) -> [u8; 32] {
        let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
        ctx.update(&self.salt);
        for part in [user, hash, password] {
            ctx.update(&(part.len() as u64).to_be_bytes());
            ctx.update(part.as_bytes());
        }
        let mut out = [0u8; 32];
        out.copy_from_slice(ctx.finish().as_ref());
        out
    }

    fn cached(&self, key: &[u8; 32]) -> Option<bool> {
        self.cache
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(key)
            .copied()
    }
}

/// `Basic base64(user:password)`, decoded.
fn basic_credentials(header: &HeaderValue) -> Option<(String, String)> {
    use base64::Engine;
    let value = header.to_str().ok()?;
    let (scheme, encoded) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, password) = text.split_once(':')?;
    Some((user.to_string(), password.to_string()))
}

/// A token bucket as Go's `rate.Limiter`: full at start, `burst` tokens, one back per `interval`.
#[derive(Debug)]
struct Bucket {
    limit: RateLimit,
    tokens: f64,
    at: Instant,
}

impl Bucket {
    fn new(limit: RateLimit) -> Bucket {
        Bucket {
            limit,
            tokens: limit.burst as f64,
            at: Instant::now(),
        }
    }

    fn take(&mut self) -> bool {
        let now = Instant::now();
        let refill = now.duration_since(self.at).as_secs_f64() / self.limit.interval.as_secs_f64();
        self.tokens = (self.tokens + refill).min(self.limit.burst as f64);
        self.at = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(users: &[(&str, &str)]) -> WebConfig {
        WebConfig {
            users: users
                .iter()
                .map(|(u, p)| (u.to_string(), bcrypt::hash(p, 4).unwrap()))
                .collect(),
            ..WebConfig::default()
        }
    }

    fn basic(user: &str, password: &str) -> HeaderValue {
        use base64::Engine;
        let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        HeaderValue::from_str(&format!("Basic {token}")).unwrap()
    }

    #[tokio::test]
    async fn only_the_right_password_of_a_known_user_is_admitted() {
        let auth = Auth::new(&config(&[("prometheus", "s3cret:with colon")]));
        assert!(
            auth.admits(Some(&basic("prometheus", "s3cret:with colon")))
                .await
        );
        // Cached now, and still right.
        assert!(
            auth.admits(Some(&basic("prometheus", "s3cret:with colon")))
                .await
        );
        assert!(!auth.admits(Some(&basic("prometheus", "wrong"))).await);
        assert!(
            !auth
                .admits(Some(&basic("nobody", "s3cret:with colon")))
                .await
        );
        assert!(!auth.admits(None).await);
        assert!(
            !auth
                .admits(Some(&HeaderValue::from_static("Bearer x")))
                .await
        );
        assert!(
            !auth
                .admits(Some(&HeaderValue::from_static("Basic !!!")))
                .await
        );
        // The decoy an unknown user is checked against costs what the configured hashes cost.
        assert!(auth.decoy().starts_with("$2b$04$"), "{}", auth.decoy());
        assert!(Auth::new(&WebConfig::default()).admits(None).await);
    }

    #[test]
    fn the_bucket_lets_a_burst_through_then_one_per_interval() {
        let mut b = Bucket::new(RateLimit {
            interval: std::time::Duration::from_secs(3600),
            burst: 2,
        });
        assert!(b.take() && b.take());
        assert!(!b.take());
        let mut none = Bucket::new(RateLimit {
            interval: std::time::Duration::from_secs(1),
            burst: 0,
        });
        assert!(!none.take(), "burst 0 admits nothing, as in Go");
    }
}
