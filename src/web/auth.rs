//! Basic auth and the rate limit of the web config, as the toolkit applies them: bcrypt hashes,
//! results cached so a scrape every few seconds does not pay bcrypt each time, one bcrypt at a
//! time and off the async workers, and an unknown user costing the same as a wrong password.

use hyper::header::HeaderValue;
use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Instant;
use tokio::sync::Semaphore;

use super::{RateLimit, WebConfig};

/// Cached verdicts kept at most, of each kind; a full set is emptied (the toolkit's is bounded too).
/// Admissions and refusals are kept apart, so a flood of wrong passwords that fills and empties
/// the refusals never evicts the scraper's admitted credentials.
const CACHE_ENTRIES: usize = 1024;

/// bcrypt is slow on purpose: one runs at a time, so a flood of logins costs one core at most.
static BCRYPT: Semaphore = Semaphore::const_new(1);

/// Requests waiting for [`BCRYPT`] at most. Beyond that a login with credentials not seen before
/// is answered 429 at once: waiting would hold a connection slot per request, and a flood of
/// wrong passwords would then starve every other request of slots, cached logins included.
const BCRYPT_QUEUE: usize = 4;

static BCRYPT_WAITING: AtomicUsize = AtomicUsize::new(0);

/// What basic auth says about a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Let in (or no users configured).
    Admitted,
    /// No, wrong or unknown credentials: 401.
    Refused,
    /// Not decided: too many logins with new credentials are waiting for bcrypt; 429.
    Busy,
}

/// Authentication and rate-limit state of one web config (replaced with it; what still applies is
/// carried over, see [`Auth::new`]).
#[derive(Debug)]
pub struct Auth {
    users: BTreeMap<String, String>,
    /// A hash of a random password at the cost of the configured hashes, made on a thread of its
    /// own when the users are set: an unknown user is checked against it, so the answer takes as
    /// long as for a known one.
    decoy: Arc<OnceLock<String>>,
    /// Verdicts by SHA-256 of (salt, user, hash, password): no password is kept in memory.
    cache: Arc<Cache>,
    limiter: Option<Arc<Mutex<Bucket>>>,
}

#[derive(Debug)]
struct Cache {
    salt: [u8; 16],
    admitted: Mutex<HashSet<[u8; 32]>>,
    refused: Mutex<HashSet<[u8; 32]>>,
}

impl Auth {
    /// The state for `config`. From `previous` (the config this one replaces) it keeps the cache
    /// and the decoy when the users are the same, and the rate limiter's bucket when the limit is:
    /// a reload neither costs a bcrypt per scraper nor hands out a fresh burst.
    pub fn new(config: &WebConfig, previous: Option<&Auth>) -> Auth {
        let same_users = previous.filter(|p| p.users == config.users);
        let limiter = match (config.rate_limit, previous.and_then(|p| p.limiter.as_ref())) {
            (None, _) => None,
            (Some(limit), Some(old))
                if old.lock().unwrap_or_else(|e| e.into_inner()).limit == limit =>
            {
                Some(old.clone())
            }
            (Some(limit), _) => Some(Arc::new(Mutex::new(Bucket::new(limit)))),
        };
        let (decoy, cache) = match same_users {
            Some(p) => (p.decoy.clone(), p.cache.clone()),
            None => {
                let mut salt = [0u8; 16];
                // A failure leaves a zero salt: the cache key is still a SHA-256 of the password.
                let _ = ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut salt);
                let cache = Cache {
                    salt,
                    admitted: Mutex::new(HashSet::new()),
                    refused: Mutex::new(HashSet::new()),
                };
                (Arc::new(OnceLock::new()), Arc::new(cache))
            }
        };
        if !config.users.is_empty() && decoy.get().is_none() {
            let (decoy, cost) = (decoy.clone(), decoy_cost(&config.users));
            // Off the async workers; a login that needs it first waits in `get_or_init`.
            std::thread::spawn(move || {
                decoy.get_or_init(|| make_decoy(cost));
            });
        }
        Auth {
            users: config.users.clone(),
            decoy,
            cache,
            limiter,
        }
    }

    /// Whether the rate limit lets one more request through now.
    pub fn allow_request(&self) -> bool {
        match &self.limiter {
            None => true,
            Some(bucket) => bucket.lock().unwrap_or_else(|e| e.into_inner()).take(),
        }
    }

    /// What the request's `Authorization` header earns it: always admitted without users.
    pub async fn admits(&self, authorization: Option<&HeaderValue>) -> Verdict {
        if self.users.is_empty() {
            return Verdict::Admitted;
        }
        let Some((user, password)) = authorization.and_then(basic_credentials) else {
            return Verdict::Refused;
        };
        let known = std::str::from_utf8(&user)
            .ok()
            .and_then(|u| self.users.get(u))
            .cloned();
        let key = self
            .cache
            .key(&user, known.as_deref().unwrap_or(""), &password);
        let seen = |set: &Mutex<HashSet<[u8; 32]>>| {
            set.lock().unwrap_or_else(|e| e.into_inner()).contains(&key)
        };
        if seen(&self.cache.admitted) {
            return Verdict::Admitted;
        }
        if seen(&self.cache.refused) {
            return Verdict::Refused;
        }
        let Some(_queued) = Queued::join() else {
            return Verdict::Busy;
        };
        let Ok(_one_at_a_time) = BCRYPT.acquire().await else {
            return Verdict::Refused;
        };
        let decoy = self.decoy.clone();
        let cost = decoy_cost(&self.users);
        let is_known = known.is_some();
        let matches = tokio::task::spawn_blocking(move || {
            let hash = match known {
                Some(h) => h,
                None => decoy.get_or_init(|| make_decoy(cost)).clone(),
            };
            bcrypt::verify(&password, &hash).unwrap_or(false)
        })
        .await
        .unwrap_or(false);
        let admitted = matches && is_known;
        let set = if admitted {
            &self.cache.admitted
        } else {
            &self.cache.refused
        };
        let mut set = set.lock().unwrap_or_else(|e| e.into_inner());
        if set.len() >= CACHE_ENTRIES {
            set.clear();
        }
        set.insert(key);
        if admitted {
            Verdict::Admitted
        } else {
            Verdict::Refused
        }
    }
}

/// A place in the bcrypt queue, given back when dropped.
struct Queued;

impl Queued {
    fn join() -> Option<Queued> {
        BCRYPT_WAITING
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < BCRYPT_QUEUE).then_some(n + 1)
            })
            .ok()
            .map(|_| Queued)
    }
}

impl Drop for Queued {
    fn drop(&mut self) {
        BCRYPT_WAITING.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Cache {
    fn key(&self, user: &[u8], hash: &str, password: &[u8]) -> [u8; 32] {
        let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
        ctx.update(&self.salt);
        for part in [user, hash.as_bytes(), password] {
            ctx.update(&(part.len() as u64).to_be_bytes());
            ctx.update(part);
        }
        let mut out = [0u8; 32];
        out.copy_from_slice(ctx.finish().as_ref());
        out
    }
}

/// The highest cost among the configured hashes (the decoy's cost).
fn decoy_cost(users: &BTreeMap<String, String>) -> u32 {
    users
        .values()
        .filter_map(|h| h.parse::<bcrypt::HashParts>().ok())
        .map(|p| p.get_cost())
        .max()
        .unwrap_or(bcrypt::DEFAULT_COST)
}

fn make_decoy(cost: u32) -> String {
    let mut random = [0u8; 16];
    let _ = ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut random);
    bcrypt::hash(random, cost).unwrap_or_default()
}

/// `Basic base64(user:password)`, decoded. Bytes, not text: Go compares bytes, so a password
/// that is not UTF-8 works there and here alike.
fn basic_credentials(header: &HeaderValue) -> Option<(Vec<u8>, Vec<u8>)> {
    use base64::Engine;
    let value = header.as_bytes();
    let space = value.iter().position(|&b| b == b' ')?;
    let (scheme, encoded) = (&value[..space], &value[space + 1..]);
    if !scheme.eq_ignore_ascii_case(b"basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim_ascii())
        .ok()?;
    let colon = decoded.iter().position(|&b| b == b':')?;
    Some((decoded[..colon].to_vec(), decoded[colon + 1..].to_vec()))
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
        let auth = Auth::new(&config(&[("prometheus", "s3cret:with colon")]), None);
        let right = basic("prometheus", "s3cret:with colon");
        assert_eq!(auth.admits(Some(&right)).await, Verdict::Admitted);
        // Cached now, and still right.
        assert_eq!(auth.admits(Some(&right)).await, Verdict::Admitted);
        for refused in [
            Some(basic("prometheus", "wrong")),
            Some(basic("nobody", "s3cret:with colon")),
            None,
            Some(HeaderValue::from_static("Bearer x")),
            Some(HeaderValue::from_static("Basic !!!")),
        ] {
            assert_eq!(
                auth.admits(refused.as_ref()).await,
                Verdict::Refused,
                "{refused:?}"
            );
        }
        // The decoy an unknown user was checked against costs what the configured hashes cost.
        let decoy = auth.decoy.get().expect("made for the unknown user");
        assert!(decoy.starts_with("$2b$04$"), "{decoy}");
        assert_eq!(
            Auth::new(&WebConfig::default(), None).admits(None).await,
            Verdict::Admitted
        );
    }

    #[tokio::test]
    async fn a_password_that_is_not_utf8_is_compared_as_bytes() {
        use base64::Engine;
        let password: &[u8] = b"caf\xe9";
        let hash = bcrypt::hash(password, 4).unwrap();
        let users = [("prometheus".to_string(), hash)].into_iter().collect();
        let auth = Auth::new(
            &WebConfig {
                users,
                ..WebConfig::default()
            },
            None,
        );
        let token = base64::engine::general_purpose::STANDARD.encode(b"prometheus:caf\xe9");
        let header = HeaderValue::from_str(&format!("Basic {token}")).unwrap();
        assert_eq!(auth.admits(Some(&header)).await, Verdict::Admitted);
    }

    #[tokio::test]
    async fn a_reload_with_the_same_users_and_limit_keeps_the_cache_and_the_bucket() {
        let mut web = config(&[("prometheus", "pw")]);
        web.rate_limit = Some(RateLimit {
            interval: std::time::Duration::from_secs(3600),
            burst: 1,
        });
        let first = Auth::new(&web, None);
        assert!(first.allow_request());
        assert_eq!(
            first.admits(Some(&basic("prometheus", "pw"))).await,
            Verdict::Admitted
        );
        let second = Auth::new(&web, Some(&first));
        assert!(
            !second.allow_request(),
            "the spent burst is not handed out again"
        );
        assert!(Arc::ptr_eq(&first.cache, &second.cache));
        // Other users: a new cache (a verdict for an old hash must not outlive it).
        let third = Auth::new(&config(&[("prometheus", "other")]), Some(&second));
        assert!(!Arc::ptr_eq(&third.cache, &second.cache));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_flood_of_new_wrong_passwords_is_turned_away_not_queued() {
        // A high cost so the queue is full while the flood arrives.
        let hash = bcrypt::hash("pw", 12).unwrap();
        let users = [("prometheus".to_string(), hash)].into_iter().collect();
        let auth = Arc::new(Auth::new(
            &WebConfig {
                users,
                ..WebConfig::default()
            },
            None,
        ));
        let flood: Vec<_> = (0..(BCRYPT_QUEUE + 6))
            .map(|i| {
                let auth = auth.clone();
                tokio::spawn(async move {
                    auth.admits(Some(&basic("prometheus", &format!("guess{i}"))))
                        .await
                })
            })
            .collect();
        let mut verdicts = Vec::new();
        for f in flood {
            verdicts.push(f.await.unwrap());
        }
        let busy = verdicts.iter().filter(|v| **v == Verdict::Busy).count();
        assert!(
            busy >= 6,
            "at most {BCRYPT_QUEUE} wait for bcrypt: {verdicts:?}"
        );
        assert!(
            verdicts.iter().all(|v| *v != Verdict::Admitted),
            "{verdicts:?}"
        );
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
