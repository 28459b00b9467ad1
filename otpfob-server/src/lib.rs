//! otpfob-server: the validation and administration service over the otpfob library.
//!
//! A thin async shell: axum handlers parse and authorise, call the library's
//! `Validator` on the blocking pool (the stores are synchronous) and map its answer to
//! JSON; no rule lives here. The binary is `otpfob-server` (`run`, `init`, `demo`,
//! `key`); this library is what it and the integration tests are built from.

#![forbid(unsafe_code)]
// The workspace asks public types to be `#[non_exhaustive]`, for the library's users.
// This crate's public items are its binary's and its tests' only, not an API.
#![allow(clippy::exhaustive_structs, clippy::exhaustive_enums)]

pub mod actor;
pub mod api;
pub mod app;
pub mod auth;
pub mod commands;
pub mod config;
pub mod console;
pub mod extract;
pub mod layers;
pub mod notify;
pub mod observe;
pub mod problem;
pub mod transport;

use std::net::SocketAddr;

use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use app::{AppState, StartError};
pub use config::Config;

/// A server started by [`start`], serving until [`RunningServer::stop`].
#[derive(Debug)]
pub struct RunningServer {
    address: SocketAddr,
    state: AppState,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
    /// The notification tasks (delivery, expiry scan), ended by `stop`.
    background: Vec<JoinHandle<()>>,
}

impl RunningServer {
    /// The address it listens on.
    #[must_use]
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// Its state (for tests that look at the store behind it).
    #[must_use]
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Stops accepting, lets requests in flight finish (up to the grace period), and
    /// returns when the server is done.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let _ = (&mut self.task).await;
        // A delivery cut off here stays pending in the outbox and is sent after the
        // next start (at least once; the receiver keeps each notice id once).
        for task in self.background.drain(..) {
            task.abort();
            let _ = task.await;
        }
    }
}

/// Builds the state (opening the store off the async workers), binds `config.listen`
/// and serves in a task.
///
/// # Errors
///
/// [`StartError`] for the configuration, the store, TLS or the socket.
pub async fn start(config: Config) -> Result<RunningServer, StartError> {
    let acceptor = config.tls.as_ref().map(transport::acceptor).transpose()?;
    let listen = config.listen;
    let limits = config.limits.clone();
    let state = tokio::task::spawn_blocking(move || AppState::build(config))
        .await
        .map_err(|error| StartError::Store(error.to_string()))??;
    let listener = TcpListener::bind(listen)
        .await
        .map_err(|source| StartError::Listen {
            address: listen.to_string(),
            source,
        })?;
    let address = listener.local_addr().map_err(|source| StartError::Listen {
        address: listen.to_string(),
        source,
    })?;
    let router = api::router(state.clone());
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        transport::serve(listener, router, acceptor, limits, async {
            let _ = stopped.await;
        })
        .await;
    });
    let background = state
        .notifier()
        .map(|notifier| notifier.spawn(state.clone()))
        .unwrap_or_default();
    tracing::info!(%address, "listening");
    Ok(RunningServer {
        address,
        state,
        stop: Some(stop),
        task,
        background,
    })
}
