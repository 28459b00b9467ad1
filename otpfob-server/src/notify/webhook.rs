//! One webhook receiver: its signing key, its HTTP client, the signature and the
//! retry schedule.
//!
//! # Security
//!
//! Every request carries `X-Otpfob-Timestamp` (seconds since the epoch, taken at each
//! attempt) and `X-Otpfob-Signature: sha256=<hex>`, the HMAC-SHA-256 under the
//! webhook's secret of the timestamp, a `.`, and the body's bytes. The timestamp is
//! inside the MAC, so a receiver that refuses a timestamp more than a few minutes off
//! its clock refuses a replayed request; the body's `id` stays the same across
//! attempts, so a receiver that keeps the ids it has seen takes each notice once
//! (delivery is at least once). Redirects are not followed: a signed notice goes only
//! where it is configured to.

use std::sync::Arc;
use std::time::Duration;

use otpfob::Algorithm;
use otpfob::mac::KeyedMac;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject as _;

use crate::config::{ConfigError, WebhookConfig, read_secret};

/// The header with the signature.
pub const SIGNATURE_HEADER: &str = "x-otpfob-signature";
/// The header with the timestamp the signature covers.
pub const TIMESTAMP_HEADER: &str = "x-otpfob-timestamp";
/// The fewest characters a webhook secret may have.
pub const MIN_SECRET_CHARS: usize = 32;

/// Where the operating system keeps its CA bundle, on the common distributions.
const SYSTEM_BUNDLES: [&str; 3] = [
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/cert.pem",
];

/// A configured receiver.
pub struct Webhook {
    /// Its URL, as configured (the outbox's name for it).
    pub url: String,
    mac: KeyedMac,
    client: reqwest::Client,
}

impl std::fmt::Debug for Webhook {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Webhook")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

/// The `X-Otpfob-Signature` value of `body` sent at `timestamp`:
/// `sha256=` and the hex HMAC-SHA-256 of `<timestamp>.<body>`.
#[must_use]
pub fn signature(mac: &KeyedMac, timestamp: i64, body: &[u8]) -> String {
    let timestamp = timestamp.to_string();
    let tag = mac.mac(&[timestamp.as_bytes(), b".", body]);
    format!("sha256={}", crate::auth::hex(tag.as_ref()))
}

/// The delay before attempt `attempts + 1`, after `attempts` (at least 1) failed:
/// `initial` doubled for each failure after the first, at most `maximum`, of which a
/// random part (`jitter`, 0 to 1) of the second half is taken ("equal jitter"), so
/// that the retries of many notices after an outage spread out.
#[must_use]
pub fn backoff(attempts: u32, initial: Duration, maximum: Duration, jitter: f64) -> Duration {
    let doublings = attempts.saturating_sub(1).min(32);
    let full = initial
        .checked_mul(1u32 << doublings.min(31))
        .unwrap_or(maximum)
        .min(maximum);
    let half = full / 2;
    half + half.mul_f64(jitter.clamp(0.0, 1.0))
}

/// A random fraction from 0 to 1 for [`backoff`]; 1 (the longest wait) if the
/// operating system gives no randomness.
#[must_use]
pub fn jitter() -> f64 {
    let mut bytes = [0u8; 4];
    match getrandom::fill(&mut bytes) {
        Ok(()) => f64::from(u32::from_le_bytes(bytes)) / f64::from(u32::MAX),
        Err(_) => 1.0,
    }
}

fn roots(config: &WebhookConfig) -> Result<rustls::RootCertStore, ConfigError> {
    let invalid =
        |reason: String| ConfigError::Invalid(format!("webhook {}: {reason}", config.url));
    let mut roots = rustls::RootCertStore::empty();
    if !config.url.starts_with("https:") {
        return Ok(roots);
    }
    let file = match &config.ca_file {
        Some(file) => file.clone(),
        None => SYSTEM_BUNDLES
            .iter()
            .map(std::path::PathBuf::from)
            .find(|path| path.exists())
            .ok_or_else(|| {
                invalid("no ca_file and no operating system CA bundle found".to_owned())
            })?,
    };
    for certificate in CertificateDer::pem_file_iter(&file)
        .map_err(|error| invalid(format!("{}: {error}", file.display())))?
    {
        let certificate =
            certificate.map_err(|error| invalid(format!("{}: {error}", file.display())))?;
        // A bundle may hold a certificate rustls cannot use; the others still count.
        let _ = roots.add(certificate);
    }
    if roots.is_empty() {
        return Err(invalid(format!(
            "{} holds no CA certificate",
            file.display()
        )));
    }
    Ok(roots)
}

impl Webhook {
    /// The receiver `config` describes: its secret read from its private file.
    ///
    /// # Errors
    ///
    /// [`ConfigError`] for a secret file that is missing, not private or shorter than
    /// [`MIN_SECRET_CHARS`], a CA file that does not read, or a client that cannot be
    /// built.
    pub fn open(config: &WebhookConfig, timeout: Duration) -> Result<Self, ConfigError> {
        let secret = read_secret(Some(&config.secret_file), None, "webhook secret")?;
        let secret = secret.trim();
        if secret.chars().count() < MIN_SECRET_CHARS {
            return Err(ConfigError::Invalid(format!(
                "webhook {}: the secret in {} has fewer than {MIN_SECRET_CHARS} characters",
                config.url,
                config.secret_file.display()
            )));
        }
        let mac = KeyedMac::new(Algorithm::Sha256, secret.as_bytes());
        let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .map_err(|error| ConfigError::Invalid(format!("webhook TLS: {error}")))?
        .with_root_certificates(roots(config)?)
        .with_no_client_auth();
        let client = reqwest::Client::builder()
            .use_preconfigured_tls(tls)
            .redirect(reqwest::redirect::Policy::none())
            .timeout(timeout)
            .user_agent(concat!("otpfob-server/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|error| ConfigError::Invalid(format!("webhook {}: {error}", config.url)))?;
        Ok(Self {
            url: config.url.clone(),
            mac,
            client,
        })
    }

    /// Posts `body`, signed at `timestamp`. `Ok` for a 2xx answer; otherwise why not
    /// (the status, or the transport's error), for the outbox.
    ///
    /// # Errors
    ///
    /// A short description of the failure.
    pub async fn send(&self, body: &[u8], timestamp: i64) -> Result<(), String> {
        let response = self
            .client
            .post(&self.url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(TIMESTAMP_HEADER, timestamp.to_string())
            .header(SIGNATURE_HEADER, signature(&self.mac, timestamp, body))
            .body(body.to_vec())
            .send()
            .await
            .map_err(|error| {
                // The error without its URL's query, which the configuration may hold.
                format!("request failed: {}", error.without_url())
            })?;
        let status = response.status();
        if status.is_success() {
            Ok(())
        } else {
            Err(format!("answered {}", status.as_u16()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_covers_the_timestamp_and_the_body() {
        let mac = KeyedMac::new(Algorithm::Sha256, b"key");
        let one = signature(&mac, 1, b"{}");
        assert!(one.starts_with("sha256="));
        assert_eq!(one.len(), 7 + 64);
        assert_ne!(one, signature(&mac, 2, b"{}"));
        assert_ne!(one, signature(&mac, 1, b"{ }"));
        // The MAC is of the bytes `1.{}`. (tests/notify.rs checks it against an
        // HMAC-SHA-256 written out from RFC 2104.)
        assert_eq!(
            one,
            format!("sha256={}", crate::auth::hex(mac.mac(&[b"1.{}"]).as_ref()))
        );
    }

    #[test]
    fn back_off_doubles_up_to_the_maximum_with_equal_jitter() {
        let initial = Duration::from_secs(1);
        let maximum = Duration::from_secs(60);
        assert_eq!(
            backoff(1, initial, maximum, 0.0),
            Duration::from_millis(500)
        );
        assert_eq!(backoff(1, initial, maximum, 1.0), Duration::from_secs(1));
        assert_eq!(backoff(2, initial, maximum, 1.0), Duration::from_secs(2));
        assert_eq!(backoff(4, initial, maximum, 0.0), Duration::from_secs(4));
        assert_eq!(backoff(7, initial, maximum, 1.0), Duration::from_secs(60));
        assert_eq!(
            backoff(u32::MAX, initial, maximum, 1.0),
            Duration::from_secs(60)
        );
        for _ in 0..100 {
            let wait = backoff(3, initial, maximum, jitter());
            assert!((Duration::from_secs(2)..=Duration::from_secs(4)).contains(&wait));
        }
    }
}
