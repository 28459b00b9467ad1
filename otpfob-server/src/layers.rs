//! The cross-cutting layers: authentication, the per-client rate limit, the limit on
//! requests at once, the request timeout. Handlers never do any of this.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tokio::sync::Semaphore;

use crate::app::AppState;
use crate::auth::{Authenticated, ConnectionInfo, bearer};
use crate::problem::Problem;

/// Resolves the caller from its bearer key and client certificate. It never refuses:
/// an endpoint that needs a role refuses (401/403) through its `Caller` extractor, and
/// the public endpoints (health, metrics, the API description) need none.
pub async fn authenticate(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let certificate = request
        .extensions()
        .get::<ConnectionInfo>()
        .and_then(|info| info.certificate_sha256);
    let client = state
        .registry()
        .authenticate(bearer(request.headers()), certificate.as_ref());
    if let Some(client) = client {
        tracing::Span::current().record("client", &*client.name);
        request.extensions_mut().insert(Authenticated(client));
    }
    next.run(request).await
}

/// A token bucket per client (or, before authentication, per address).
#[derive(Debug)]
pub struct RateLimiter {
    rate: f64,
    burst: f64,
    buckets: Mutex<HashMap<String, (f64, Instant)>>,
}

/// The most buckets kept; past it the oldest are forgotten (an attacker rotating
/// addresses cannot grow the map without bound).
const MAX_BUCKETS: usize = 100_000;

impl RateLimiter {
    /// `rate` requests a second, `burst` above it.
    #[must_use]
    pub fn new(rate: u32, burst: u32) -> Self {
        Self {
            rate: f64::from(rate.max(1)),
            burst: f64::from(burst.max(1)),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one request from `key`'s bucket; `Err(wait)` if it is empty.
    pub fn take(&self, key: &str, now: Instant) -> Result<(), Duration> {
        let mut buckets = self.buckets.lock().unwrap_or_else(PoisonError::into_inner);
        if buckets.len() >= MAX_BUCKETS && !buckets.contains_key(key) {
            let stale = now.checked_sub(Duration::from_secs(60));
            buckets.retain(|_, (_, seen)| stale.is_none_or(|stale| *seen > stale));
            if buckets.len() >= MAX_BUCKETS {
                buckets.clear();
            }
        }
        // Looked up by reference first: a known client's request allocates nothing.
        if !buckets.contains_key(key) {
            buckets.insert(key.to_owned(), (self.burst, now));
        }
        let Some((tokens, seen)) = buckets.get_mut(key) else {
            // Not reachable (inserted just above); refused rather than let through
            // unmetered.
            return Err(Duration::from_secs(1));
        };
        let elapsed = now.saturating_duration_since(*seen).as_secs_f64();
        *tokens = (*tokens + elapsed * self.rate).min(self.burst);
        *seen = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - *tokens) / self.rate))
        }
    }
}

/// Refuses a client over its rate with 429 and `Retry-After`.
pub async fn rate_limit(
    State(limiter): State<Arc<RateLimiter>>,
    request: Request,
    next: Next,
) -> Response {
    let key = match request.extensions().get::<Authenticated>() {
        Some(Authenticated(client)) => format!("client:{}", client.name),
        None => request.extensions().get::<ConnectionInfo>().map_or_else(
            || "address:unknown".to_owned(),
            |info| format!("address:{}", info.peer.ip()),
        ),
    };
    match limiter.take(&key, Instant::now()) {
        Ok(()) => next.run(request).await,
        Err(wait) => {
            metrics::counter!("otpfob_rate_limited_total").increment(1);
            let mut response = Problem::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate-limited",
                "Too many requests",
            )
            .detail("this client is over its request rate; retry later")
            .into_response();
            let seconds = wait.as_secs().max(1).to_string();
            if let Ok(value) = HeaderValue::from_str(&seconds) {
                response.headers_mut().insert(header::RETRY_AFTER, value);
            }
            response
        }
    }
}

/// Serves at most the semaphore's permits at once; more are refused at once with 503,
/// not queued (a queue only makes every answer late).
pub async fn limit_concurrency(
    State(permits): State<Arc<Semaphore>>,
    request: Request,
    next: Next,
) -> Response {
    match Arc::clone(&permits).try_acquire_owned() {
        Ok(_permit) => next.run(request).await,
        Err(_) => {
            metrics::counter!("otpfob_overloaded_total").increment(1);
            Problem::unavailable("the server is at its limit of requests at once; retry")
                .into_response()
        }
    }
}

/// Answers 503 to a request that is not answered within the limit. A validator call
/// already running finishes on its own (it is never cut mid-write); only its answer
/// is dropped.
pub async fn timeout(State(limit): State<Duration>, request: Request, next: Next) -> Response {
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => {
            metrics::counter!("otpfob_timeouts_total").increment(1);
            Problem::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "timeout",
                "Request timed out",
            )
            .detail("the request took longer than the server's limit")
            .into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_allows_its_burst_then_its_rate() {
        let limiter = RateLimiter::new(10, 3);
        let start = Instant::now();
        for _ in 0..3 {
            assert!(limiter.take("a", start).is_ok());
        }
        let wait = limiter.take("a", start).unwrap_err();
        assert!(wait <= Duration::from_millis(100), "{wait:?}");
        // Another client has its own bucket.
        assert!(limiter.take("b", start).is_ok());
        // A tenth of a second later, one more.
        let later = start + Duration::from_millis(100);
        assert!(limiter.take("a", later).is_ok());
        assert!(limiter.take("a", later).is_err());
    }
}
