//! Logs, metrics and request ids.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use otpfob::validator::{AuditEvent, AuditSink, Outcome};
use tower_http::request_id::{MakeRequestId, RequestId};

/// Audit events into the server's log (the store's audit table is the authoritative
/// trail; this one is for the log pipeline, and carries the rejection reasons).
#[derive(Debug, Clone, Copy)]
pub struct LogSink;

impl AuditSink for LogSink {
    fn record(&self, event: &AuditEvent) {
        let (outcome, reason) = match event.outcome {
            Outcome::Accepted => ("accepted", None),
            Outcome::Rejected(reason) => ("rejected", Some(reason.to_string())),
            Outcome::Done => ("done", None),
            _ => ("unknown", None),
        };
        tracing::info!(
            target: "otpfob_server::audit",
            token = %event.token,
            actor = crate::actor::actor_of(event).as_deref().unwrap_or(""),
            operation = event.operation.as_str(),
            outcome,
            reason = reason.as_deref().unwrap_or(""),
            "audit"
        );
    }
}

/// The process's Prometheus recorder, installed on first use (metrics are per process,
/// whatever number of servers a test starts in it).
#[must_use]
pub fn prometheus() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let recorder = PrometheusBuilder::new().build_recorder();
        let handle = recorder.handle();
        // Another recorder installed first (an embedding program's) keeps working; ours
        // then renders only what is recorded through it, which is nothing.
        let _ = metrics::set_global_recorder(recorder);
        handle
    })
}

/// Request ids: a random prefix per process and a counter, unique and cheap.
#[derive(Debug, Clone)]
pub struct RequestIds {
    prefix: String,
    counter: std::sync::Arc<AtomicU64>,
}

impl RequestIds {
    /// A fresh generator.
    #[must_use]
    pub fn new() -> Self {
        let mut bytes = [0u8; 6];
        let _ = getrandom::fill(&mut bytes);
        Self {
            prefix: crate::auth::hex(&bytes),
            counter: std::sync::Arc::new(AtomicU64::new(0)),
        }
    }
}

impl Default for RequestIds {
    fn default() -> Self {
        Self::new()
    }
}

impl MakeRequestId for RequestIds {
    fn make_request_id<B>(&mut self, _request: &axum::http::Request<B>) -> Option<RequestId> {
        let number = self.counter.fetch_add(1, Ordering::Relaxed);
        HeaderValue::from_str(&format!("{}-{number:010}", self.prefix))
            .ok()
            .map(RequestId::new)
    }
}

/// Counts requests by route and status, and their durations.
pub async fn count_requests(request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |path| path.as_str().to_owned());
    let method = request.method().as_str().to_owned();
    let started = Instant::now();
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    metrics::counter!("otpfob_http_requests_total", "route" => route.clone(), "method" => method, "status" => status).increment(1);
    metrics::histogram!("otpfob_http_request_seconds", "route" => route)
        .record(started.elapsed().as_secs_f64());
    response
}

/// The group-commit statistics as a Prometheus histogram of writes per commit
/// (`otpfob_group_commit_batch_size`, cumulative buckets as Prometheus wants them) and
/// a counter of batches that failed to commit; empty without group commit. Rendered
/// from the store's own counters at each scrape, so nothing is recorded per write.
#[must_use]
pub fn group_commit_text(statistics: Option<otpfob::store::GroupCommitStatistics>) -> String {
    use std::fmt::Write as _;
    let Some(statistics) = statistics else {
        return String::new();
    };
    let mut text = String::from(
        "# HELP otpfob_group_commit_batch_size Writes per SQLite group commit.\n\
         # TYPE otpfob_group_commit_batch_size histogram\n",
    );
    let mut cumulative = 0u64;
    for (bound, count) in otpfob::store::GROUP_COMMIT_BATCH_BUCKETS
        .iter()
        .zip(statistics.batch_sizes)
    {
        cumulative += count;
        let _ = writeln!(
            text,
            "otpfob_group_commit_batch_size_bucket{{le=\"{bound}\"}} {cumulative}"
        );
    }
    let batches = statistics.commits + statistics.failed_batches;
    let _ = writeln!(
        text,
        "otpfob_group_commit_batch_size_bucket{{le=\"+Inf\"}} {batches}\n\
         otpfob_group_commit_batch_size_sum {}\n\
         otpfob_group_commit_batch_size_count {batches}\n\
         # HELP otpfob_group_commit_failed_batches_total SQLite group commits that failed.\n\
         # TYPE otpfob_group_commit_failed_batches_total counter\n\
         otpfob_group_commit_failed_batches_total {}",
        statistics.writes, statistics.failed_batches
    );
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn group_commit_buckets_are_cumulative() {
        let mut statistics = otpfob::store::GroupCommitStatistics::default();
        statistics.commits = 3;
        statistics.writes = 7;
        statistics.batch_sizes[0] = 1; // one batch of 1
        statistics.batch_sizes[2] = 2; // two of 3 or 4
        let text = group_commit_text(Some(statistics));
        assert!(text.contains("otpfob_group_commit_batch_size_bucket{le=\"1\"} 1\n"));
        assert!(text.contains("otpfob_group_commit_batch_size_bucket{le=\"2\"} 1\n"));
        assert!(text.contains("otpfob_group_commit_batch_size_bucket{le=\"4\"} 3\n"));
        assert!(text.contains("otpfob_group_commit_batch_size_bucket{le=\"512\"} 3\n"));
        assert!(text.contains("otpfob_group_commit_batch_size_bucket{le=\"+Inf\"} 3\n"));
        assert!(text.contains("otpfob_group_commit_batch_size_sum 7\n"));
        assert!(text.contains("otpfob_group_commit_batch_size_count 3\n"));
        assert!(group_commit_text(None).is_empty());
    }
}
