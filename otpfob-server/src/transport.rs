//! TLS (rustls), HTTP/1.1 and HTTP/2 (hyper), the limits on a request's head, and
//! graceful shutdown: stop accepting, let requests in flight finish, then return.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use sha2::{Digest, Sha256};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt as _;

use crate::app::StartError;
use crate::auth::ConnectionInfo;
use crate::config::{Limits, TlsConfig, check_private};

/// How long a client may take over its TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// The TLS acceptor of a `[tls]` section: HTTP/2 and HTTP/1.1 by ALPN, and client
/// certificates signed by `client_ca` asked for but not required (a client with a
/// bearer key needs none).
///
/// # Errors
///
/// [`StartError::Tls`] for files that do not read or do not fit together.
pub fn acceptor(tls: &TlsConfig) -> Result<TlsAcceptor, StartError> {
    let fail =
        |what: &str, error: &dyn std::fmt::Display| StartError::Tls(format!("{what}: {error}"));
    let certificates: Vec<CertificateDer<'static>> =
        CertificateDer::pem_file_iter(&tls.certificate)
            .map_err(|error| fail(&tls.certificate.display().to_string(), &error))?
            .collect::<Result<_, _>>()
            .map_err(|error| fail(&tls.certificate.display().to_string(), &error))?;
    check_private(&tls.private_key)?;
    let key = PrivateKeyDer::from_pem_file(&tls.private_key)
        .map_err(|error| fail(&tls.private_key.display().to_string(), &error))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ServerConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .map_err(|error| fail("protocol versions", &error))?;
    let builder = match &tls.client_ca {
        None => builder.with_no_client_auth(),
        Some(ca) => {
            let mut roots = rustls::RootCertStore::empty();
            for certificate in CertificateDer::pem_file_iter(ca)
                .map_err(|error| fail(&ca.display().to_string(), &error))?
            {
                let certificate =
                    certificate.map_err(|error| fail(&ca.display().to_string(), &error))?;
                roots
                    .add(certificate)
                    .map_err(|error| fail(&ca.display().to_string(), &error))?;
            }
            let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
                Arc::new(roots),
                provider,
            )
            .allow_unauthenticated()
            .build()
            .map_err(|error| fail("client CA", &error))?;
            builder.with_client_cert_verifier(verifier)
        }
    };
    let mut config = builder
        .with_single_cert(certificates, key)
        .map_err(|error| fail("certificate and key", &error))?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}

fn http_builder(limits: &Limits) -> auto::Builder<TokioExecutor> {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout())
        .max_buf_size(limits.header_bytes)
        .max_headers(limits.max_headers);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_header_list_size(u32::try_from(limits.header_bytes).unwrap_or(u32::MAX))
        .max_concurrent_streams(256)
        .keep_alive_interval(Some(Duration::from_secs(30)));
    builder
}

/// Serves `router` on `listener` until `shutdown` completes, then stops accepting and
/// waits up to the grace period for connections to finish their requests.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    tls: Option<TlsAcceptor>,
    limits: Limits,
    shutdown: impl Future<Output = ()> + Send,
) {
    let builder = Arc::new(http_builder(&limits));
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors and the like: wait, do not spin.
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let router = router.clone();
        let builder = Arc::clone(&builder);
        let watcher = graceful.watcher();
        let tls = tls.clone();
        tokio::spawn(async move {
            match tls {
                None => {
                    let info = ConnectionInfo {
                        peer,
                        certificate_sha256: None,
                    };
                    serve_connection(&builder, watcher, TokioIo::new(stream), router, info).await;
                }
                Some(acceptor) => {
                    let stream = match tokio::time::timeout(
                        HANDSHAKE_TIMEOUT,
                        acceptor.accept(stream),
                    )
                    .await
                    {
                        Ok(Ok(stream)) => stream,
                        Ok(Err(error)) => {
                            tracing::debug!(%peer, %error, "TLS handshake failed");
                            return;
                        }
                        Err(_) => {
                            tracing::debug!(%peer, "TLS handshake timed out");
                            return;
                        }
                    };
                    let certificate_sha256 = stream
                        .get_ref()
                        .1
                        .peer_certificates()
                        .and_then(|chain| chain.first())
                        .map(|leaf| Sha256::digest(leaf.as_ref()).into());
                    let info = ConnectionInfo {
                        peer,
                        certificate_sha256,
                    };
                    serve_connection(&builder, watcher, TokioIo::new(stream), router, info).await;
                }
            }
        });
    }
    drop(listener);
    tracing::info!("shutting down: no new connections, finishing requests in flight");
    if tokio::time::timeout(limits.shutdown_grace(), graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("grace period over with connections still open");
    }
}

async fn serve_connection<I>(
    builder: &auto::Builder<TokioExecutor>,
    watcher: hyper_util::server::graceful::Watcher,
    io: I,
    router: Router,
    info: ConnectionInfo,
) where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
        request.extensions_mut().insert(info);
        router.clone().oneshot(request.map(Body::new))
    });
    let connection = builder.serve_connection(io, service);
    if let Err(error) = watcher.watch(connection).await {
        tracing::debug!(peer = %info.peer, %error, "connection ended with an error");
    }
}

/// The address a listener got (for `127.0.0.1:0`).
///
/// # Errors
///
/// The socket's error.
pub fn local_address(listener: &TcpListener) -> std::io::Result<SocketAddr> {
    listener.local_addr()
}
