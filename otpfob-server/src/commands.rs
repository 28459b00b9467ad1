//! The binary's commands: `run`, `init`, `demo`, `key issue|revoke|list`,
//! `staff add|reset-factor|remove|list`.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use clap::{Parser, Subcommand};
use zeroize::Zeroizing;

use crate::auth::{ClientsFile, Role};
use crate::config::{
    Config, LogConfig, LogFormat, SealingConfig, SealingKeyConfig, StoreConfig, write_private,
};

/// otpfob-server: one-time password validation and token administration over HTTPS.
#[derive(Debug, Parser)]
#[command(name = "otpfob-server", version)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve, with the configuration file given.
    Run {
        /// The configuration file.
        #[arg(long, value_name = "FILE")]
        config: PathBuf,
    },
    /// Write a configuration, a fresh sealing key (mode 0600) and a clients file with
    /// a first admin key, printed once.
    Init {
        /// The folder to write them into (created if needed).
        #[arg(long, value_name = "DIR")]
        dir: PathBuf,
        /// The address to listen on.
        #[arg(long, default_value = "0.0.0.0:8443")]
        listen: SocketAddr,
        /// Serve plain HTTP (loopback addresses only) instead of TLS.
        #[arg(long)]
        plaintext: bool,
    },
    /// A throwaway server: temporary config, database and keys, an enrolled demo
    /// token, and the `curl` lines to try; runs until Ctrl-C.
    Demo {
        /// The loopback address to listen on.
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
    },
    /// Issue, revoke or list API client keys.
    Key {
        /// The configuration file (names the clients file).
        #[arg(long, value_name = "FILE")]
        config: PathBuf,
        /// What to do.
        #[command(subcommand)]
        action: KeyAction,
    },
    /// Create, list or remove staff accounts of the console (`/console/`).
    Staff {
        /// The configuration file (names the staff database).
        #[arg(long, value_name = "FILE")]
        config: PathBuf,
        /// What to do.
        #[command(subcommand)]
        action: StaffAction,
    },
}

/// What to do with staff accounts.
#[derive(Debug, Subcommand)]
pub enum StaffAction {
    /// Create an account with a fresh password, printed once; the second factor is
    /// enrolled at the first sign-in.
    Add {
        /// The name (a-z, 0-9, '.', '_', '-'), as the audit trail shows it.
        #[arg(long)]
        name: String,
        /// A role (repeat for several): helpdesk, admin, audit.
        #[arg(long = "role", required = true, value_parser = parse_role)]
        roles: Vec<Role>,
    },
    /// Make the account enrol a new second factor at its next sign-in (a lost phone).
    ResetFactor {
        /// The name.
        #[arg(long)]
        name: String,
    },
    /// Remove an account.
    Remove {
        /// The name.
        #[arg(long)]
        name: String,
    },
    /// List accounts and their roles (never passwords).
    List,
}

/// What to do with client keys.
#[derive(Debug, Subcommand)]
pub enum KeyAction {
    /// Add a client with a fresh key, printed once (send SIGHUP to a running server).
    Issue {
        /// The client's name, as the audit trail shows it.
        #[arg(long)]
        name: String,
        /// A role (repeat for several): verify, sign, helpdesk, admin, audit, metrics.
        #[arg(long = "role", required = true, value_parser = parse_role)]
        roles: Vec<Role>,
        /// Also require this TLS client certificate (its SHA-256 in hex).
        #[arg(long, value_name = "HEX")]
        certificate_sha256: Option<String>,
    },
    /// Remove a client; its key stops working at the server's next SIGHUP or start.
    Revoke {
        /// The client's name.
        #[arg(long)]
        name: String,
    },
    /// List clients and their roles (never keys).
    List,
}

fn parse_role(name: &str) -> Result<Role, String> {
    Role::from_name(name).ok_or_else(|| {
        format!("unknown role {name:?}: verify, sign, helpdesk, admin, audit or metrics")
    })
}

/// Errors of the commands.
pub type CommandError = Box<dyn std::error::Error + Send + Sync>;

/// Starts logging as the configuration says (to standard error).
pub fn init_logging(log: &LogConfig) {
    let filter = tracing_subscriber::EnvFilter::try_new(&log.level)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match log.format {
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .try_init(),
        LogFormat::Text => builder.try_init(),
    };
}

/// Runs a command.
///
/// # Errors
///
/// Whatever the command met.
pub fn execute(cli: Cli) -> Result<(), CommandError> {
    match cli.command {
        Command::Run { config } => {
            let config = Config::read(&config)?;
            init_logging(&config.log);
            runtime()?.block_on(run(config, None))
        }
        Command::Init {
            dir,
            listen,
            plaintext,
        } => {
            let key = init(&dir, listen, plaintext)?;
            println!("Wrote {}", dir.join("otpfob-server.toml").display());
            println!(
                "First admin key (shown once; keep it in a secret store):\n{}",
                key.as_str()
            );
            Ok(())
        }
        Command::Demo { listen } => {
            init_logging(&LogConfig {
                format: LogFormat::Text,
                level: "warn".to_owned(),
            });
            runtime()?.block_on(demo(listen))
        }
        Command::Key { config, action } => {
            let config = Config::read(&config)?;
            let mut clients = ClientsFile::read(&config.clients_file)?;
            match action {
                KeyAction::Issue {
                    name,
                    roles,
                    certificate_sha256,
                } => {
                    let key =
                        clients.issue(&name, roles.into_iter().collect(), certificate_sha256)?;
                    clients.write(&config.clients_file)?;
                    println!("Key for {name} (shown once):\n{}", key.as_str());
                }
                KeyAction::Revoke { name } => {
                    clients.revoke(&name)?;
                    clients.write(&config.clients_file)?;
                    println!("Revoked {name}");
                }
                KeyAction::List => {
                    for client in &clients.clients {
                        let roles: Vec<&str> =
                            client.roles.iter().map(|role| role.as_str()).collect();
                        println!("{}\t{}", client.name, roles.join(","));
                    }
                }
            }
            Ok(())
        }
        Command::Staff { config, action } => {
            let config = Config::read(&config)?;
            let staff = crate::console::staff::StaffStore::open(
                &config.console.staff_database_path(&config),
            )?;
            match action {
                StaffAction::Add { name, roles } => {
                    let password = crate::console::staff::generate_password()?;
                    staff.create(
                        &name,
                        &roles.into_iter().collect(),
                        &password,
                        crate::console::staff::PasswordHashing::default(),
                    )?;
                    println!(
                        "Staff account {name} created. Its password (shown once; give it to them privately):\n{}",
                        password.as_str()
                    );
                }
                StaffAction::ResetFactor { name } => {
                    if staff.find(&name)?.is_none() {
                        return Err(format!("no staff account named {name:?}").into());
                    }
                    staff.set_factor_confirmed(&name, false)?;
                    println!("{name} enrols a new second factor at the next sign-in");
                }
                StaffAction::Remove { name } => {
                    staff.remove(&name)?;
                    println!("Removed {name}");
                }
                StaffAction::List => {
                    for account in staff.list()? {
                        let roles: Vec<&str> =
                            account.roles.iter().map(|role| role.as_str()).collect();
                        let factor = if account.factor_confirmed {
                            "second factor confirmed"
                        } else {
                            "second factor at next sign-in"
                        };
                        println!("{}\t{}\t{factor}", account.name, roles.join(","));
                    }
                }
            }
            Ok(())
        }
    }
}

fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
}

/// Serves until SIGTERM or SIGINT (SIGHUP reads the clients file again), then shuts
/// down gracefully and closes the store. `ready` is told the address once listening.
///
/// # Errors
///
/// Start-up errors.
pub async fn run(
    config: Config,
    ready: Option<tokio::sync::oneshot::Sender<SocketAddr>>,
) -> Result<(), CommandError> {
    let server = crate::start(config).await?;
    if let Some(ready) = ready {
        let _ = ready.send(server.address());
    }
    println!("otpfob-server listening on {}", server.address());
    wait_for_stop(server.state()).await;
    tracing::info!("signal received: stopping");
    let state = server.state().clone();
    server.stop().await;
    drop(state);
    tracing::info!("stopped");
    Ok(())
}

#[cfg(unix)]
async fn wait_for_stop(state: &crate::AppState) {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut terminate), Ok(mut interrupt), Ok(mut hangup)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
        signal(SignalKind::hangup()),
    ) else {
        let _ = tokio::signal::ctrl_c().await;
        return;
    };
    loop {
        tokio::select! {
            _ = terminate.recv() => return,
            _ = interrupt.recv() => return,
            _ = hangup.recv() => match state.reload_clients() {
                Ok(count) => tracing::info!(count, "clients file read again"),
                Err(error) => tracing::error!(%error, "clients file not read; clients unchanged"),
            },
        }
    }
}

#[cfg(not(unix))]
async fn wait_for_stop(_state: &crate::AppState) {
    let _ = tokio::signal::ctrl_c().await;
}

/// Writes `otpfob-server.toml`, `sealing-key-1` (0600) and `clients.toml` (0600) with
/// one client `admin`, and returns its key.
///
/// # Errors
///
/// Files that exist already (nothing is overwritten), I/O errors.
pub fn init(
    dir: &Path,
    listen: SocketAddr,
    plaintext: bool,
) -> Result<Zeroizing<String>, CommandError> {
    std::fs::create_dir_all(dir)?;
    let config_path = dir.join("otpfob-server.toml");
    for name in ["otpfob-server.toml", "sealing-key-1", "clients.toml"] {
        if dir.join(name).exists() {
            return Err(format!(
                "{} exists already; not overwritten",
                dir.join(name).display()
            )
            .into());
        }
    }
    if plaintext && !listen.ip().is_loopback() {
        return Err(format!("--plaintext needs a loopback address, not {listen}").into());
    }
    let mut key = Zeroizing::new([0u8; 32]);
    getrandom::fill(key.as_mut()).map_err(|error| error.to_string())?;
    let hex = Zeroizing::new(crate::auth::hex(key.as_ref()));
    write_private(
        &dir.join("sealing-key-1"),
        format!("{}\n", hex.as_str()).as_bytes(),
    )?;
    let mut clients = ClientsFile::default();
    let admin = clients.issue(
        "admin",
        BTreeSet::from([Role::Admin, Role::Helpdesk, Role::Audit, Role::Metrics]),
        None,
    )?;
    clients.write(&dir.join("clients.toml"))?;
    let config = Config {
        listen,
        plaintext,
        tls: (!plaintext).then(|| crate::config::TlsConfig {
            certificate: PathBuf::from("tls/server.crt"),
            private_key: PathBuf::from("tls/server.key"),
            client_ca: None,
        }),
        store: StoreConfig::Sqlite {
            path: PathBuf::from("otpfob.db"),
            group_commit: true,
        },
        sealing: SealingConfig {
            current: 1,
            strict: false,
            keys: vec![SealingKeyConfig {
                id: 1,
                file: Some(PathBuf::from("sealing-key-1")),
                env: None,
                pkcs11: None,
            }],
        },
        clients_file: PathBuf::from("clients.toml"),
        issuer: "otpfob".to_owned(),
        policy: crate::config::PolicyPreset::Default,
        limits: crate::config::Limits::default(),
        log: LogConfig::default(),
        console: crate::config::ConsoleConfig::default(),
        notify: crate::config::NotifyConfig::default(),
    };
    let text = format!(
        "# otpfob-server configuration (see README, \"Run the server\").\n{}",
        toml::to_string(&config)?
    );
    std::fs::write(&config_path, text)?;
    Ok(admin)
}

/// The throwaway demo server.
///
/// # Errors
///
/// Start-up errors.
pub async fn demo(listen: SocketAddr) -> Result<(), CommandError> {
    use otpfob::{Device as _, Enrolment, SoftToken, TokenId, TotpParameters};
    let dir = tempfile_dir()?;
    let key = init(&dir, listen, true)?;
    let mut clients = ClientsFile::read(&dir.join("clients.toml"))?;
    let services = clients.issue(
        "demo-services",
        BTreeSet::from([Role::Verify, Role::Sign]),
        None,
    )?;
    clients.write(&dir.join("clients.toml"))?;
    let config = Config::read(&dir.join("otpfob-server.toml"))?;
    let server = crate::start(config).await?;
    let address = server.address();
    let id = TokenId::new("demo-token")?;
    let (enrolment, secret) = Enrolment::generate(id.clone(), TotpParameters::default())?;
    server
        .state()
        .blocking(move |validator| validator.enrol(enrolment))
        .await
        .map_err(|problem| format!("{problem:?}"))??;
    let uri = otpfob::KeyUri::new(secret.clone(), "demo-token", TotpParameters::default())?
        .with_issuer("otpfob demo")?;
    let mut token = SoftToken::new(
        "demo-token",
        &secret,
        TotpParameters::default(),
        otpfob::SystemClock,
    )?;
    let code = token.press()?.code().to_string();
    let base = format!("http://{address}");
    println!(
        "otpfob-server demo on {base} (files in {}; Ctrl-C stops it and deletes them)\n",
        dir.display()
    );
    println!(
        "Demo token `demo-token` (TOTP, 6 digits, 30 s). Add it to an authenticator app:\n  {}\n",
        uri.to_uri().as_str()
    );
    println!("  export ADMIN={}", key.as_str());
    println!("  export SERVICE={}\n", services.as_str());
    println!(
        "# verify a code (this one is the current code; a second try is a replay and is rejected)"
    );
    println!(
        "curl -s -H \"Authorization: Bearer $SERVICE\" -H 'Content-Type: application/json' \\\n  -d '{{\"code\":\"{code}\"}}' {base}/v1/tokens/demo-token/verify"
    );
    println!("# a wrong code, and an unknown token: the same answer");
    println!(
        "curl -s -H \"Authorization: Bearer $SERVICE\" -H 'Content-Type: application/json' \\\n  -d '{{\"code\":\"000000\"}}' {base}/v1/tokens/nobody/verify"
    );
    println!("# the token's state and audit trail");
    println!("curl -s -H \"Authorization: Bearer $ADMIN\" {base}/v1/tokens/demo-token");
    println!("curl -s -H \"Authorization: Bearer $ADMIN\" {base}/v1/tokens/demo-token/audit");
    println!("# enrol a new token (key URI and QR code returned once)");
    println!(
        "curl -s -H \"Authorization: Bearer $ADMIN\" -H 'Content-Type: application/json' \\\n  -d '{{\"id\":\"alice\",\"kind\":\"totp\"}}' {base}/v1/tokens"
    );
    println!("# the API description, health and metrics");
    println!("curl -s {base}/v1/openapi.json | head -c 300; echo");
    println!(
        "curl -s {base}/readyz; curl -s -H \"Authorization: Bearer $ADMIN\" {base}/metrics | head"
    );
    wait_for_stop(server.state()).await;
    server.stop().await;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

fn tempfile_dir() -> Result<PathBuf, CommandError> {
    let mut suffix = [0u8; 8];
    getrandom::fill(&mut suffix).map_err(|error| error.to_string())?;
    let dir = std::env::temp_dir().join(format!("otpfob-demo-{}", crate::auth::hex(&suffix)));
    std::fs::create_dir(&dir)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700))?;
    }
    Ok(dir)
}
