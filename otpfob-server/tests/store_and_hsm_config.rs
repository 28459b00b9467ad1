//! The server's configuration of TLS to PostgreSQL (against the TLS-only server of
//! `scripts/with-postgres --tls`) and of sealing keys in an HSM (against the SoftHSM2
//! token of `scripts/with-softhsm`), read from TOML files the way the server reads
//! them. These tests never skip: without the servers or the token they fail and say
//! how to get them (`bash scripts/test`).

use std::path::Path;

use otpfob::validator::pkcs11::{PinSource, Pkcs11Config, Pkcs11Key, TokenSelector};
use otpfob::{Secret, TokenId};
use otpfob_server::app::open_store;
use otpfob_server::config::{ConfigError, write_private};
use otpfob_server::{Config, StartError};

const HOW: &str = "run `bash scripts/test`, which starts the PostgreSQL servers \
(scripts/with-postgres --tls) and the SoftHSM2 token (scripts/with-softhsm)";

fn required(variable: &str) -> String {
    match std::env::var(variable) {
        Ok(value) if !value.is_empty() => value,
        _ => panic!("{variable} is not set: {HOW}"),
    }
}

/// A configuration file in `directory` with `store` and `sealing` sections (TOML),
/// read as the server reads it.
fn read(directory: &Path, store: &str, sealing: &str) -> Result<Config, ConfigError> {
    let text = format!(
        "listen = \"127.0.0.1:0\"\nplaintext = true\nclients_file = \"clients.toml\"\n{store}\n{sealing}\n"
    );
    let path = directory.join("otpfob-server.toml");
    std::fs::write(&path, text).unwrap();
    Config::read(&path)
}

const SOFTWARE_SEALING: &str =
    "[sealing]\ncurrent = 1\n[[sealing.keys]]\nid = 1\nenv = \"UNUSED\"\n";

fn unique(label: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!("{label}_{}_{nanos}", std::process::id())
}

/// A `[store]` section for the TLS server as `user`, with `tls` as its `[store.tls]`.
fn postgres_store(directory: &Path, user: &str, tls: &str) -> String {
    let url = format!(
        "postgresql://{user}@127.0.0.1:{}/postgres",
        required("OTPFOB_PG_TLS_PORT")
    );
    write_private(&directory.join("pg-url"), url.as_bytes()).unwrap();
    format!(
        "[store]\nkind = \"postgres\"\nurl_file = \"pg-url\"\nschema = \"{}\"\n[store.tls]\n{tls}\n",
        unique("server_tls")
    )
}

fn store_error(config: &Config) -> String {
    match open_store(&config.store) {
        Err(StartError::Store(reason)) => reason,
        Err(StartError::Config(ConfigError::Invalid(reason))) => reason,
        Err(other) => panic!("not a store or configuration error: {other}"),
        Ok(_) => panic!("the store opened"),
    }
}

#[test]
fn postgres_tls_from_the_configuration() {
    let directory = tempfile::tempdir().unwrap();
    // A relative CA path is taken from the configuration file's folder.
    std::fs::copy(
        required("OTPFOB_PG_TLS_CA"),
        directory.path().join("pg-ca.pem"),
    )
    .unwrap();
    let verified = read(
        directory.path(),
        &postgres_store(directory.path(), "postgres", "ca_file = \"pg-ca.pem\""),
        SOFTWARE_SEALING,
    )
    .unwrap();
    open_store(&verified.store).unwrap();

    let other_ca = format!("ca_file = \"{}\"", required("OTPFOB_PG_TLS_OTHER_CA"));
    let wrong_ca = read(
        directory.path(),
        &postgres_store(directory.path(), "postgres", &other_ca),
        SOFTWARE_SEALING,
    )
    .unwrap();
    let reason = store_error(&wrong_ca);
    assert!(reason.contains("untrusted certificate"), "{reason}");

    let client = format!(
        "ca_file = \"pg-ca.pem\"\nclient_certificate = \"{}\"\nclient_key = \"{}\"",
        required("OTPFOB_PG_TLS_CLIENT_CERT"),
        required("OTPFOB_PG_TLS_CLIENT_KEY")
    );
    let by_certificate = read(
        directory.path(),
        &postgres_store(directory.path(), "otpfob_cert", &client),
        SOFTWARE_SEALING,
    )
    .unwrap();
    open_store(&by_certificate.store).unwrap();

    let without_certificate = read(
        directory.path(),
        &postgres_store(directory.path(), "otpfob_cert", "ca_file = \"pg-ca.pem\""),
        SOFTWARE_SEALING,
    )
    .unwrap();
    let reason = store_error(&without_certificate);
    assert!(reason.contains("refused authentication"), "{reason}");

    let half = format!(
        "ca_file = \"pg-ca.pem\"\nclient_certificate = \"{}\"",
        required("OTPFOB_PG_TLS_CLIENT_CERT")
    );
    let half = read(
        directory.path(),
        &postgres_store(directory.path(), "otpfob_cert", &half),
        SOFTWARE_SEALING,
    )
    .unwrap();
    let reason = store_error(&half);
    assert!(reason.contains("go together"), "{reason}");
}

/// A `[sealing]` section whose current key 2 is in the test token under `label`,
/// with the software key 1 as a previous one, and `extra` lines in the pkcs11 table.
fn hsm_sealing(label: &str, strict: bool, pin: &str) -> String {
    format!(
        "[sealing]\ncurrent = 2\nstrict = {strict}\n\
         [[sealing.keys]]\nid = 1\nfile = \"key-1\"\n\
         [[sealing.keys]]\nid = 2\n[sealing.keys.pkcs11]\nmodule = \"{}\"\ntoken_label = \"{}\"\nkey_label = \"{label}\"\n{pin}\n",
        required("OTPFOB_PKCS11_MODULE"),
        required("OTPFOB_PKCS11_TOKEN"),
    )
}

#[cfg(unix)]
#[test]
fn hsm_sealing_keys_from_the_configuration() {
    use std::os::unix::fs::PermissionsExt as _;

    let directory = tempfile::tempdir().unwrap();
    let path = directory.path();
    let pin = required("OTPFOB_PKCS11_PIN");
    write_private(&path.join("key-1"), "42".repeat(32).as_bytes()).unwrap();
    write_private(&path.join("hsm-pin"), format!("{pin}\n").as_bytes()).unwrap();
    let label = unique("server-hsm");
    Pkcs11Key::generate(
        2,
        &Pkcs11Config::new(
            required("OTPFOB_PKCS11_MODULE"),
            TokenSelector::Label(required("OTPFOB_PKCS11_TOKEN")),
            &label,
            PinSource::File(required("OTPFOB_PKCS11_PIN_FILE").into()),
        ),
    )
    .unwrap_or_else(|error| panic!("cannot generate a key in the token ({error}): {HOW}"));

    // A wrong PIN is the HSM's typed refusal, naming neither PIN. (First, while no
    // session of this process is logged in: PKCS#11 logs in per token and
    // application, so a second login with any PIN finds the token logged in.)
    let store = "[store]\nkind = \"memory\"\n";
    write_private(&path.join("wrong-pin"), b"00000000\n").unwrap();
    let wrong = read(
        path,
        store,
        &hsm_sealing(&label, false, "pin_file = \"wrong-pin\""),
    )
    .unwrap();
    let error = wrong.keyring().unwrap_err();
    let ConfigError::Hsm { key_id: 2, reason } = &error else {
        panic!("{error:?}");
    };
    assert!(
        !reason.contains(&pin) && !reason.contains("00000000"),
        "{reason}"
    );

    // The PIN from a file (relative to the configuration): new seals are the HSM
    // key's, the software key still opens what it sealed.
    let config = read(
        path,
        store,
        &hsm_sealing(&label, false, "pin_file = \"hsm-pin\""),
    )
    .unwrap();
    assert!(!format!("{config:?}").contains(&pin));
    let keyring = config.keyring().unwrap();
    assert!(keyring.token_keys().is_none());
    let token = TokenId::new("HSM-1").unwrap();
    let seed = Secret::from_bytes(b"12345678901234567890").unwrap();
    let sealed = keyring.seal(&token, &seed).unwrap();
    assert_eq!(sealed.key_id, 2);
    assert_eq!(
        keyring.open(&token, &sealed).unwrap().expose_bytes(),
        seed.expose_bytes()
    );
    let software = otpfob::Keyring::new(otpfob::SealingKey::new(1, &[0x42; 32]).unwrap());
    let old = software.seal(&token, &seed).unwrap();
    assert_eq!(
        keyring.open(&token, &old).unwrap().expose_bytes(),
        seed.expose_bytes()
    );

    // The PIN from the environment, and strict mode on the same key.
    let strict = read(
        path,
        store,
        &hsm_sealing(&label, true, "pin_env = \"OTPFOB_PKCS11_PIN\""),
    )
    .unwrap();
    assert!(strict.keyring().unwrap().token_keys().is_some());

    // Strict mode needs the current key in the HSM.
    let software_strict = read(
        path,
        store,
        "[sealing]\ncurrent = 1\nstrict = true\n[[sealing.keys]]\nid = 1\nfile = \"key-1\"\n",
    )
    .unwrap();
    assert!(matches!(
        software_strict.keyring().unwrap_err(),
        ConfigError::Invalid(reason) if reason.contains("strict")
    ));

    // A PIN file others can read is refused before the token is asked.
    std::fs::set_permissions(path.join("hsm-pin"), std::fs::Permissions::from_mode(0o644)).unwrap();
    let open = read(
        path,
        store,
        &hsm_sealing(&label, false, "pin_file = \"hsm-pin\""),
    )
    .unwrap();
    assert!(matches!(
        open.keyring().unwrap_err(),
        ConfigError::NotPrivate { .. }
    ));

    // There is no place for the PIN itself; the refusal does not echo it.
    let inline = read(
        path,
        store,
        &hsm_sealing(&label, false, &format!("pin = \"{pin}\"")),
    )
    .unwrap_err();
    let ConfigError::Parse { reason, .. } = &inline else {
        panic!("{inline:?}");
    };
    assert!(reason.contains("unknown field `pin`"), "{reason}");
    assert!(!inline.to_string().contains(&pin), "{inline}");

    // Exactly one token selector and one PIN source.
    let both = read(
        path,
        store,
        &hsm_sealing(&label, false, "slot = 0\npin_file = \"wrong-pin\""),
    )
    .unwrap();
    assert!(matches!(
        both.keyring().unwrap_err(),
        ConfigError::Invalid(reason) if reason.contains("slot and token_label")
    ));
}
