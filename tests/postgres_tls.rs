//! `PgStore` over TLS against the TLS-only server `scripts/with-postgres --tls`
//! starts (certificates made for the run): verify-full succeeds; a wrong CA, a wrong
//! host name, a server without TLS, a missing or foreign client certificate are each
//! refused with a typed error before the store opens; the TLS files' errors name the
//! file and never its content.
#![cfg(feature = "postgres")]

mod pg_support;

use std::time::{Duration, Instant};

use otpfob::{
    Enrolment, Hotp, HotpParameters, Keyring, ManualClock, PgConfig, PgConfigError, PgConnectError,
    PgStore, PgTls, SealingKey, Secret, StoreError, TokenId, Validator,
};

/// Long enough that a refusal which waited for it would be seen to.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(20);

fn variable(name: &str) -> String {
    pg_support::required(name)
}

fn ca() -> String {
    variable("OTPFOB_PG_TLS_CA")
}

/// Settings for a fresh schema on the TLS server, as `user` and host `host`
/// (connecting to 127.0.0.1 whatever the name), with `application` as the session's
/// name so that the test can find its connections.
fn config_for(user: &str, host: &str, application: &str) -> PgConfig {
    let port = variable("OTPFOB_PG_TLS_PORT");
    PgConfig::new(&format!(
        "host={host} hostaddr=127.0.0.1 port={port} user={user} dbname=postgres application_name={application}"
    ))
    .unwrap()
    .schema(&pg_support::unique_schema(application))
    .unwrap()
    .pool_size(2)
    .unwrap()
    .connect_timeout(CONNECT_TIMEOUT)
    .unwrap()
}

fn admin() -> postgres::Client {
    pg_support::client_at(&variable("OTPFOB_PG_TLS_ADMIN_URL"))
}

/// Whether `schema` exists on the TLS server: a store that opened would have made it.
fn schema_exists(schema: &str) -> bool {
    admin()
        .query_one(
            "SELECT count(*) FROM pg_namespace WHERE nspname = $1",
            &[&schema],
        )
        .unwrap()
        .get::<_, i64>(0)
        == 1
}

/// Every session named `application`: whether it uses TLS, and its client
/// certificate's subject.
fn sessions(application: &str) -> Vec<(bool, Option<String>)> {
    admin()
        .query(
            "SELECT s.ssl, s.client_dn FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) \
             WHERE a.application_name = $1",
            &[&application],
        )
        .unwrap()
        .iter()
        .map(|row| (row.get(0), row.get(1)))
        .collect()
}

/// Enrols and verifies one HOTP token through `store`: the store works end to end.
fn serves(store: PgStore) {
    let id = TokenId::new("TLS-000001").unwrap();
    let secret = Secret::from_bytes(b"12345678901234567890").unwrap();
    let code = Hotp::new(&secret, HotpParameters::default())
        .unwrap()
        .at(0)
        .to_string();
    let keyring = Keyring::new(SealingKey::new(1, &[7; 32]).unwrap());
    let validator = Validator::new(store, ManualClock::at_secs(1_767_225_600), keyring);
    validator
        .enrol(Enrolment::new(
            id.clone(),
            secret,
            HotpParameters::default(),
        ))
        .unwrap();
    validator.verify(&id, &code, None).unwrap();
}

/// Connects with `config`, expecting a refusal: returned at once (not after the
/// connect timeout), with the schema never created.
fn refused(config: &PgConfig) -> PgConnectError {
    let started = Instant::now();
    let error = PgStore::connect(config).unwrap_err();
    assert!(
        started.elapsed() < CONNECT_TIMEOUT / 2,
        "the refusal waited {:?}",
        started.elapsed()
    );
    assert!(!schema_exists(config.get_schema()), "the store opened");
    match error {
        StoreError::Connect(refusal) => refusal,
        other => panic!("not a connection refusal: {other:?}"),
    }
}

#[test]
fn verify_full_connects_over_tls() {
    let application = "tls_verify_full";
    let config = config_for("postgres", "127.0.0.1", application)
        .tls(PgTls::verify_full(ca()).unwrap())
        .unwrap();
    let store = PgStore::connect(&config).unwrap();
    assert!(schema_exists(config.get_schema()));
    serves(store);

    // The DNS name in the certificate verifies as well as its address.
    let by_name = config_for("postgres", "localhost", "tls_by_name")
        .tls(PgTls::verify_full(ca()).unwrap())
        .unwrap();
    let store = PgStore::connect(&by_name).unwrap();
    // The pool opens its connections on demand, and keeps this one idle.
    store.schema_version().unwrap();
    let found = sessions("tls_by_name");
    assert!(
        !found.is_empty() && found.iter().all(|(ssl, _)| *ssl),
        "{found:?}"
    );
    drop(store);
}

#[test]
fn a_certificate_from_another_ca_is_refused() {
    let config = config_for("postgres", "127.0.0.1", "tls_wrong_ca")
        .tls(PgTls::verify_full(variable("OTPFOB_PG_TLS_OTHER_CA")).unwrap())
        .unwrap();
    let refusal = refused(&config);
    assert!(
        matches!(&refusal, PgConnectError::UntrustedCertificate { server, .. } if server == "127.0.0.1"),
        "{refusal:?}"
    );
}

#[test]
fn a_certificate_for_another_host_is_refused() {
    // The right CA, and the connection goes to the right server: only the name the
    // connection string checks is not the certificate's.
    let config = config_for("postgres", "db.example.invalid", "tls_wrong_host")
        .tls(PgTls::verify_full(ca()).unwrap())
        .unwrap();
    let refusal = refused(&config);
    assert!(
        matches!(&refusal, PgConnectError::WrongHostName { server, .. } if server == "db.example.invalid"),
        "{refusal:?}"
    );
}

#[test]
fn a_server_without_tls_is_refused_rather_than_used_in_plain_text() {
    let plain = pg_support::url();
    let schema = pg_support::unique_schema("tls_plain");
    let config = PgConfig::new(&plain)
        .unwrap()
        .schema(&schema)
        .unwrap()
        .connect_timeout(CONNECT_TIMEOUT)
        .unwrap()
        .tls(PgTls::verify_full(ca()).unwrap())
        .unwrap();
    let started = Instant::now();
    let error = PgStore::connect(&config).unwrap_err();
    assert!(started.elapsed() < CONNECT_TIMEOUT / 2);
    assert!(
        matches!(
            &error,
            StoreError::Connect(PgConnectError::ServerWithoutTls { .. })
        ),
        "{error:?}"
    );
    let created: i64 = pg_support::client_at(&plain)
        .query_one(
            "SELECT count(*) FROM pg_namespace WHERE nspname = $1",
            &[&schema],
        )
        .unwrap()
        .get(0);
    assert_eq!(created, 0, "the store opened in plain text");
    // Asking for plain text and TLS at once is refused, not resolved either way.
    let disable = format!("{plain}?sslmode=disable");
    assert_eq!(
        PgConfig::new(&disable)
            .unwrap()
            .tls(PgTls::verify_full(ca()).unwrap())
            .unwrap_err(),
        PgConfigError::TlsAndPlaintext
    );
}

#[test]
fn a_client_certificate_is_accepted_where_required() {
    let application = "tls_client_cert";
    let config = config_for("otpfob_cert", "127.0.0.1", application)
        .tls(
            PgTls::verify_full(ca())
                .unwrap()
                .client_certificate(
                    variable("OTPFOB_PG_TLS_CLIENT_CERT"),
                    variable("OTPFOB_PG_TLS_CLIENT_KEY"),
                )
                .unwrap(),
        )
        .unwrap();
    let store = PgStore::connect(&config).unwrap();
    store.schema_version().unwrap();
    let found = sessions(application);
    assert!(!found.is_empty(), "no session");
    for (ssl, subject) in &found {
        assert!(*ssl);
        assert_eq!(subject.as_deref(), Some("/CN=otpfob_cert"));
    }
    serves(store);
}

#[test]
fn no_client_certificate_is_refused_where_one_is_required() {
    let config = config_for("otpfob_cert", "127.0.0.1", "tls_no_client_cert")
        .tls(PgTls::verify_full(ca()).unwrap())
        .unwrap();
    let refusal = refused(&config);
    let PgConnectError::AuthenticationRefused { reason, .. } = &refusal else {
        panic!("{refusal:?}");
    };
    assert!(reason.contains("28000"), "{reason}");
    assert!(reason.contains("client certificate"), "{reason}");
}

#[test]
fn a_client_certificate_from_another_ca_is_refused() {
    let config = config_for("otpfob_cert", "127.0.0.1", "tls_foreign_client_cert")
        .tls(
            PgTls::verify_full(ca())
                .unwrap()
                .client_certificate(
                    variable("OTPFOB_PG_TLS_OTHER_CLIENT_CERT"),
                    variable("OTPFOB_PG_TLS_OTHER_CLIENT_KEY"),
                )
                .unwrap(),
        )
        .unwrap();
    let refusal = refused(&config);
    assert!(
        matches!(refusal, PgConnectError::ClientCertificateRefused { .. }),
        "{refusal:?}"
    );
}

#[test]
fn plain_text_needs_saying_so_beyond_this_machine() {
    // Nothing is contacted: the refusal comes before any connection.
    let remote = PgConfig::new("postgresql://otpfob@db.example.invalid/bank").unwrap();
    assert_eq!(
        PgStore::connect_without_migrating(&remote).unwrap_err(),
        StoreError::Connect(PgConnectError::PlaintextToRemoteHost {
            server: "db.example.invalid".to_owned()
        })
    );
    let hostaddr =
        PgConfig::new("host=localhost hostaddr=192.0.2.7 user=otpfob dbname=bank").unwrap();
    assert!(matches!(
        PgStore::connect_without_migrating(&hostaddr).unwrap_err(),
        StoreError::Connect(PgConnectError::PlaintextToRemoteHost { .. })
    ));
    let said =
        PgConfig::new("postgresql://otpfob@db.example.invalid/bank?sslmode=disable").unwrap();
    assert!(PgStore::connect_without_migrating(&said).is_ok());
    for local in [
        "postgresql://otpfob@127.0.0.1/bank",
        "postgresql://otpfob@localhost/bank",
        "host=/var/run/postgresql user=otpfob dbname=bank",
    ] {
        let config = PgConfig::new(local).unwrap();
        assert!(
            PgStore::connect_without_migrating(&config).is_ok(),
            "{local}"
        );
    }
    // sslmode=require without a CA would be TLS that verifies nothing: refused.
    let require = PgConfig::new("postgresql://otpfob@127.0.0.1/bank?sslmode=require").unwrap();
    assert_eq!(
        PgStore::connect_without_migrating(&require).unwrap_err(),
        StoreError::Connect(PgConnectError::TlsNotConfigured)
    );
}

#[cfg(unix)]
#[test]
fn tls_file_errors_name_the_file_and_never_its_content() {
    use std::os::unix::fs::PermissionsExt as _;

    let directory = tempfile::tempdir().unwrap();
    let missing = directory.path().join("missing.pem");
    assert!(matches!(
        PgTls::verify_full(&missing).unwrap_err(),
        PgConfigError::TlsFile { file, .. } if file == missing.display().to_string()
    ));

    let garbage = directory.path().join("garbage.pem");
    std::fs::write(&garbage, "not a certificate at all\n").unwrap();
    assert!(matches!(
        PgTls::verify_full(&garbage).unwrap_err(),
        PgConfigError::TlsCertificate { file, .. } if file == garbage.display().to_string()
    ));

    let certificate = variable("OTPFOB_PG_TLS_CLIENT_CERT");
    let key = std::fs::read_to_string(variable("OTPFOB_PG_TLS_CLIENT_KEY")).unwrap();
    let write_key = |name: &str, text: &str, mode: u32| {
        let path = directory.path().join(name);
        std::fs::write(&path, text).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
        path
    };
    let tls = || PgTls::verify_full(ca()).unwrap();

    // A key others may read is refused, as libpq refuses it.
    let open = write_key("open.key", &key, 0o644);
    assert_eq!(
        tls().client_certificate(&certificate, &open).unwrap_err(),
        PgConfigError::TlsKeyNotPrivate {
            file: open.display().to_string(),
            mode: 0o644
        }
    );

    // A broken PEM key: the error does not quote the line it choked on.
    let body: Vec<&str> = key
        .lines()
        .filter(|line| !line.starts_with("-----"))
        .collect();
    let broken = write_key(
        "broken.key",
        &format!("-----BEGIN PRIVATE KEY-----\n{}\n", body.join("\n")),
        0o600,
    );
    let error = tls().client_certificate(&certificate, &broken).unwrap_err();
    assert!(matches!(&error, PgConfigError::TlsKey { .. }), "{error:?}");
    for line in &body {
        assert!(!error.to_string().contains(line), "{error}");
        assert!(!format!("{error:?}").contains(line), "{error:?}");
    }

    // A key that is not the certificate's.
    let other = std::fs::read_to_string(variable("OTPFOB_PG_TLS_OTHER_CLIENT_KEY")).unwrap();
    let mismatched = write_key("mismatched.key", &other, 0o600);
    let error = tls()
        .client_certificate(&certificate, &mismatched)
        .unwrap_err();
    let PgConfigError::TlsKey { reason, .. } = &error else {
        panic!("{error:?}");
    };
    assert!(reason.contains("does not match"), "{reason}");

    // A configuration with a key shows file names, never the key.
    let good = write_key("good.key", &key, 0o600);
    let configured = tls().client_certificate(&certificate, &good).unwrap();
    let shown = format!(
        "{configured:?} {:?}",
        PgConfig::new("host=localhost")
            .unwrap()
            .tls(configured.clone())
            .unwrap()
    );
    assert!(shown.contains("verify-full"), "{shown}");
    for line in &body {
        assert!(!shown.contains(line), "{shown}");
    }
}
