//! TLS with rustls: a CA, a server certificate and a client certificate made by rcgen
//! here; HTTP/2 and HTTP/1.1; a client that authenticates by its certificate alone;
//! plain HTTP refused off loopback.

mod support;

use std::collections::BTreeSet;

use otpfob_server::auth::{ClientEntry, ClientsFile, Role};
use otpfob_server::config::{Config, TlsConfig, write_private};
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use serde_json::json;
use sha2::{Digest, Sha256};
use support::{Backend, Harness, Setup, hotp_code};

struct Pki {
    ca_pem: String,
    client_pem: String,
    client_key_pem: String,
    client_sha256: String,
}

fn make_pki(setup: &Setup) -> (Pki, TlsConfig) {
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "otpfob test CA");
    let ca_cert = ca_params.self_signed(&ca_key).unwrap();
    let issuer = Issuer::from_params(&ca_params, &ca_key);

    let server_key = KeyPair::generate().unwrap();
    let server_params = CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
    let server_cert = server_params.signed_by(&server_key, &issuer).unwrap();

    let client_key = KeyPair::generate().unwrap();
    let mut client_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    client_params
        .distinguished_name
        .push(DnType::CommonName, "payments");
    client_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    let client_cert = client_params.signed_by(&client_key, &issuer).unwrap();

    let dir = setup.path();
    std::fs::write(dir.join("server.crt"), server_cert.pem()).unwrap();
    write_private(
        &dir.join("server.key"),
        server_key.serialize_pem().as_bytes(),
    )
    .unwrap();
    std::fs::write(dir.join("ca.crt"), ca_cert.pem()).unwrap();
    let pki = Pki {
        ca_pem: ca_cert.pem(),
        client_pem: client_cert.pem(),
        client_key_pem: client_key.serialize_pem(),
        client_sha256: otpfob_server::auth::hex(&Sha256::digest(client_cert.der())),
    };
    let tls = TlsConfig {
        certificate: dir.join("server.crt"),
        private_key: dir.join("server.key"),
        client_ca: Some(dir.join("ca.crt")),
    };
    (pki, tls)
}

fn client(pki: &Pki, with_certificate: bool, address: std::net::SocketAddr) -> reqwest::Client {
    support::install_crypto();
    let mut builder = reqwest::Client::builder()
        .use_rustls_tls()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(pki.ca_pem.as_bytes()).unwrap())
        .resolve("localhost", address);
    if with_certificate {
        let identity = format!("{}{}", pki.client_pem, pki.client_key_pem);
        builder = builder.identity(reqwest::Identity::from_pem(identity.as_bytes()).unwrap());
    }
    builder.build().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_with_a_client_certificate() {
    let setup = Setup::new(Backend::Sqlite);
    let (pki, tls) = make_pki(&setup);
    // A client known only by its certificate.
    let mut clients = ClientsFile::read(&setup.config.clients_file).unwrap();
    clients.clients.push(ClientEntry {
        name: "payments-by-certificate".to_owned(),
        roles: BTreeSet::from([Role::Verify]),
        key_sha256: None,
        certificate_sha256: Some(pki.client_sha256.clone()),
    });
    clients.write(&setup.config.clients_file).unwrap();
    let harness = Harness::start_with(setup.with_tls(tls)).await;
    let address = harness.server.address();
    let url = format!(
        "https://localhost:{}/v1/tokens/hotp-1/verify",
        address.port()
    );

    // With the certificate and no key: authenticated, over HTTP/2.
    let with_certificate = client(&pki, true, address);
    let response = with_certificate
        .post(&url)
        .json(&json!({"code": hotp_code(0)}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.version(), reqwest::Version::HTTP_2);
    assert_eq!(response.status(), 200);
    assert_eq!(response.text().await.unwrap(), r#"{"verdict":"accepted"}"#);

    // The audit trail names the client the certificate belongs to.
    let audit = with_certificate
        .get(format!(
            "https://localhost:{}/v1/tokens/hotp-1/audit",
            address.port()
        ))
        .bearer_auth(harness.key("audit"))
        .send()
        .await
        .unwrap();
    assert_eq!(audit.status(), 200);

    // Without a certificate and without a key: 401.
    let without = client(&pki, false, address);
    let response = without
        .post(&url)
        .json(&json!({"code": hotp_code(1)}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    // A bearer key works without a certificate, over HTTP/1.1 too.
    let http1 = reqwest::Client::builder()
        .use_rustls_tls()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(pki.ca_pem.as_bytes()).unwrap())
        .resolve("localhost", address)
        .http1_only()
        .build()
        .unwrap();
    let response = http1
        .post(&url)
        .bearer_auth(harness.key("verify"))
        .json(&json!({"code": hotp_code(1)}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.version(), reqwest::Version::HTTP_11);
    assert_eq!(response.text().await.unwrap(), r#"{"verdict":"accepted"}"#);

    // Plain HTTP to the TLS port gets no HTTP answer.
    let plain = reqwest::Client::new()
        .get(format!("http://127.0.0.1:{}/healthz", address.port()))
        .send()
        .await;
    assert!(plain.is_err() || plain.unwrap().status() != 200);
}

#[test]
fn plain_http_only_on_loopback() {
    let setup = Setup::new(Backend::Memory);
    let path = setup.write_config("0.0.0.0:8080");
    let error = Config::read(&path).unwrap_err().to_string();
    assert!(error.contains("loopback"), "{error}");
    // Loopback, explicitly plaintext: accepted.
    let path = setup.write_config("127.0.0.1:8080");
    Config::read(&path).unwrap();
    // Neither TLS nor plaintext: refused.
    let text = std::fs::read_to_string(&path)
        .unwrap()
        .replace("plaintext = true", "plaintext = false");
    std::fs::write(&path, text).unwrap();
    let error = Config::read(&path).unwrap_err().to_string();
    assert!(error.contains("TLS is required"), "{error}");
}
