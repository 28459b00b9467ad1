//! Notifications to webhooks: the validator's notices (locked, block alert, lost,
//! replaced, revoked, expiring soon; see `otpfob::validator::notify`) written to a
//! durable outbox by a [`NoticeSink`], then posted, signed, to each configured
//! webhook by a background task, retried with exponential back-off and jitter up to
//! a limit, then kept as failed and counted in `/metrics`. A second task scans the
//! store for tokens expiring soon.

pub mod outbox;
pub mod webhook;

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use otpfob::validator::notify::{Notice, NoticeSink};
use tokio::task::JoinHandle;

use crate::app::{AppState, StartError};
use crate::config::Config;
use outbox::{Outbox, OutboxCounts};
use webhook::Webhook;

/// How many due deliveries one round of the delivery task takes.
const ROUND: usize = 64;

/// The outbox, the webhooks and the schedule.
#[derive(Debug)]
pub struct Notifier {
    outbox: Arc<Outbox>,
    webhooks: Vec<Arc<Webhook>>,
    config: crate::config::NotifyConfig,
    wake: Arc<tokio::sync::Notify>,
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|since| i64::try_from(since.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// A fresh notice id, `ntf_` and 128 random bits in hex: the same in every attempt
/// of one delivery, for the receiver to take each notice once.
fn notice_id() -> String {
    let mut bytes = [0u8; 16];
    if getrandom::fill(&mut bytes).is_err() {
        // No randomness: the time still makes the id unique on this node.
        bytes[..8].copy_from_slice(&now_ms().to_le_bytes());
    }
    format!("ntf_{}", crate::auth::hex(&bytes))
}

/// The JSON body of a notice: never a code, a PIN or a secret.
#[must_use]
pub fn payload(notice: &Notice, id: &str) -> Vec<u8> {
    let body = serde_json::json!({
        "id": id,
        "event": notice.kind.as_str(),
        "token": notice.token.as_str(),
        "customer": notice.owner.as_ref().map(|owner| owner.as_str()),
        "at": notice.at.as_secs(),
        "expires_at": notice.expires_at.map(|at| at.as_secs()),
        "replaced_by": notice.replaced_by.as_ref().map(|token| token.as_str()),
        "actor": notice.actor.as_deref(),
    });
    serde_json::to_vec(&body).unwrap_or_default()
}

impl Notifier {
    /// The notifier `config` describes, or `None` without webhooks. Blocking (it opens
    /// the outbox and reads the secrets).
    ///
    /// # Errors
    ///
    /// [`StartError`] for a webhook's secret or CA file, or the outbox.
    pub fn open(config: &Config) -> Result<Option<Arc<Self>>, StartError> {
        let notify = &config.notify;
        if notify.webhooks.is_empty() {
            return Ok(None);
        }
        let timeout = Duration::from_millis(notify.timeout_ms);
        let webhooks = notify
            .webhooks
            .iter()
            .map(|webhook| Webhook::open(webhook, timeout).map(Arc::new))
            .collect::<Result<Vec<_>, _>>()?;
        let outbox = Outbox::open(&notify.outbox_path(config))
            .map_err(|error| StartError::Store(error.to_string()))?;
        Ok(Some(Arc::new(Self {
            outbox: Arc::new(outbox),
            webhooks,
            config: notify.clone(),
            wake: Arc::new(tokio::sync::Notify::new()),
        })))
    }

    /// The sink the validator hands its notices to.
    #[must_use]
    pub fn sink(self: &Arc<Self>) -> OutboxSink {
        OutboxSink(Arc::clone(self))
    }

    /// The outbox's counts by state (blocking).
    ///
    /// # Errors
    ///
    /// The outbox's.
    pub fn counts(&self) -> Result<OutboxCounts, outbox::OutboxError> {
        self.outbox.counts()
    }

    /// Starts a delivery task per webhook (a slow receiver does not hold up the
    /// others) and the expiry scan; [`crate::RunningServer::stop`] ends them.
    #[must_use]
    pub fn spawn(self: &Arc<Self>, state: AppState) -> Vec<JoinHandle<()>> {
        let mut tasks: Vec<JoinHandle<()>> = self
            .webhooks
            .iter()
            .map(|webhook| tokio::spawn(Arc::clone(self).deliver(Arc::clone(webhook))))
            .collect();
        tasks.push(tokio::spawn(Arc::clone(self).scan(state)));
        tasks
    }

    /// Delivers the notices due to `webhook`, then waits for a new one or the next
    /// retry.
    async fn deliver(self: Arc<Self>, webhook: Arc<Webhook>) {
        // Retries are looked for at least this often.
        let poll = Duration::from_millis(self.config.retry_initial_ms.clamp(10, 1000));
        loop {
            let outbox = Arc::clone(&self.outbox);
            let url = webhook.url.clone();
            let due = tokio::task::spawn_blocking(move || outbox.due(&url, now_ms(), ROUND)).await;
            let due = match due {
                Ok(Ok(due)) => due,
                Ok(Err(error)) => {
                    tracing::error!(%error, "notification outbox");
                    Vec::new()
                }
                Err(_) => Vec::new(),
            };
            let full = due.len() == ROUND;
            for delivery in due {
                self.attempt(&webhook, delivery).await;
            }
            if full {
                continue;
            }
            tokio::select! {
                () = self.wake.notified() => {}
                () = tokio::time::sleep(poll) => {}
            }
        }
    }

    /// One attempt of one delivery, and its outcome written to the outbox. (A
    /// delivery to a webhook no longer configured waits, pending, for it to be
    /// configured again.)
    async fn attempt(&self, webhook: &Webhook, delivery: outbox::Delivery) {
        let attempts = delivery.attempts.saturating_add(1);
        let result = webhook.send(&delivery.body, now_ms() / 1000).await;
        let outbox = Arc::clone(&self.outbox);
        let config = self.config.clone();
        let outcome = match &result {
            Ok(()) => "delivered",
            Err(_) if attempts >= config.max_attempts => "failed",
            Err(_) => "retried",
        };
        metrics::counter!("otpfob_notify_deliveries_total", "outcome" => outcome).increment(1);
        if let Err(error) = &result {
            tracing::warn!(webhook = %delivery.webhook, attempts, %error, outcome, "webhook delivery");
        }
        let written = tokio::task::spawn_blocking(move || match result {
            Ok(()) => outbox.delivered(delivery.id, attempts),
            Err(error) if attempts >= config.max_attempts => {
                outbox.failed(delivery.id, attempts, &error)
            }
            Err(error) => {
                let wait = webhook::backoff(
                    attempts,
                    Duration::from_millis(config.retry_initial_ms),
                    Duration::from_millis(config.retry_max_ms),
                    webhook::jitter(),
                );
                let next =
                    now_ms().saturating_add(i64::try_from(wait.as_millis()).unwrap_or(i64::MAX));
                outbox.retry_at(delivery.id, attempts, next, &error)
            }
        })
        .await;
        if let Ok(Err(error)) = written {
            tracing::error!(%error, "notification outbox");
        }
    }

    /// Scans the store for tokens expiring soon, every `scan_interval_seconds`, and
    /// prunes deliveries whose events are over.
    async fn scan(self: Arc<Self>, state: AppState) {
        let ahead = Duration::from_secs(self.config.expiring_within_days.saturating_mul(86_400));
        let interval = Duration::from_secs(self.config.scan_interval_seconds);
        loop {
            match state
                .blocking(move |validator| validator.notify_expiring(ahead))
                .await
            {
                Ok(Ok(found)) => tracing::info!(found, "expiry scan"),
                Ok(Err(error)) => tracing::error!(%error, "expiry scan"),
                Err(_) => {}
            }
            let outbox = Arc::clone(&self.outbox);
            let over = now_ms()
                .saturating_sub(i64::try_from(ahead.as_millis()).unwrap_or(i64::MAX))
                .saturating_sub(86_400_000);
            let _ = tokio::task::spawn_blocking(move || outbox.prune_delivered(over)).await;
            tokio::time::sleep(interval).await;
        }
    }
}

/// The validator's notice sink: each notice into the outbox, once per webhook,
/// before the validator call returns; then the delivery task is woken.
#[derive(Debug, Clone)]
pub struct OutboxSink(Arc<Notifier>);

impl NoticeSink for OutboxSink {
    fn notify(&self, notice: &Notice) {
        let id = notice_id();
        let body = payload(notice, &id);
        let once_key = notice.once_key();
        let now = now_ms();
        for webhook in &self.0.webhooks {
            if let Err(error) = self
                .0
                .outbox
                .enqueue(&webhook.url, once_key.as_deref(), &body, now)
            {
                // Nothing else to do from inside a validator call: the log and the
                // counter say a notice was lost.
                metrics::counter!("otpfob_notify_enqueue_errors_total").increment(1);
                tracing::error!(%error, event = notice.kind.as_str(), token = %notice.token, "notice not queued");
            }
        }
        // Every delivery task looks; one busy sending finds it at its next round.
        self.0.wake.notify_waiters();
    }
}

/// The outbox's gauges for `/metrics`: deliveries by state.
#[must_use]
pub fn metrics_text(counts: &OutboxCounts) -> String {
    format!(
        "# HELP otpfob_notify_outbox Webhook deliveries in the outbox, by state.\n\
         # TYPE otpfob_notify_outbox gauge\n\
         otpfob_notify_outbox{{state=\"pending\"}} {}\n\
         otpfob_notify_outbox{{state=\"delivered\"}} {}\n\
         otpfob_notify_outbox{{state=\"failed\"}} {}\n",
        counts.pending, counts.delivered, counts.failed
    )
}
