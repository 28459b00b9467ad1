//! The staff console in a real browser: headless Chromium (Debian's `chromium` and
//! `chromium-driver`) through WebDriver, against the real server on loopback with a
//! real SQLite store. Each test saves screenshots under `target/console-screenshots/`
//! and runs axe-core (from npm, injected into the page) on the main pages.
//!
//! The WebDriver client is the W3C protocol's few JSON calls over `reqwest`, which the
//! other server tests use already (no browser-automation crate to build).
//!
//! Without `chromedriver` these tests fail when `CI=true` and say so loudly otherwise.

mod support;

use std::collections::BTreeSet;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use otpfob::{
    Device as _, Enrolment, HotpParameters, KeyFob, KeyUri, SystemClock, TokenId, Totp,
    TotpParameters,
};
use otpfob_server::auth::Role;
use otpfob_server::console::staff::PasswordHashing;
use serde_json::{Value, json};
use support::{Backend, Harness, Setup};

/// The browser tests run one at a time: two cores, one Chromium each is plenty.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

const PASSWORD: &str = "correct horse battery staple";
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

fn chromedriver() -> Option<PathBuf> {
    if let Ok(path) = std::env::var("CHROMEDRIVER") {
        return Some(PathBuf::from(path));
    }
    ["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"]
        .into_iter()
        .map(PathBuf::from)
        .find(|path| path.exists())
}

/// The driver, or `None` (outside CI only) when Chromium's driver is not installed.
async fn browser() -> Option<Driver> {
    support::install_crypto();
    let Some(path) = chromedriver() else {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "chromedriver is missing: .ci/run installs chromium and chromium-driver"
        );
        eprintln!(
            "SKIPPED: no chromedriver (apt-get install chromium chromium-driver); CI fails here"
        );
        return None;
    };
    Some(Driver::start(&path).await)
}

/// A WebDriver session on a chromedriver of its own.
struct Driver {
    http: reqwest::Client,
    base: String,
    child: Child,
}

impl Driver {
    async fn start(path: &std::path::Path) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        // A process group of its own, so that dropping the driver ends the browsers it
        // started too (killed alone, chromedriver left every Chromium of the run behind,
        // using the CPU of whatever ran next).
        let child = Command::new(path)
            .process_group(0)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let http = reqwest::Client::new();
        let root = format!("http://127.0.0.1:{port}");
        for _ in 0..100 {
            if http.get(format!("{root}/status")).send().await.is_ok() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let binary = ["/usr/bin/chromium", "/usr/lib/chromium/chromium"]
            .into_iter()
            .find(|path| std::path::Path::new(path).exists())
            .unwrap_or("/usr/bin/chromium");
        let created: Value = http
            .post(format!("{root}/session"))
            .json(&json!({"capabilities": {"alwaysMatch": {
                "browserName": "chrome",
                "goog:chromeOptions": {
                    "binary": binary,
                    "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                             "--disable-dev-shm-usage", "--window-size=1024,900"],
                },
            }}}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let session = created["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no WebDriver session: {created}"))
            .to_owned();
        Self {
            http,
            base: format!("{root}/session/{session}"),
            child,
        }
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let request = self.http.request(method, format!("{}{path}", self.base));
        let request = match body {
            Some(body) => request.json(&body),
            None => request,
        };
        let answer: Value = request.send().await.unwrap().json().await.unwrap();
        if answer["value"].get("error").is_some() {
            panic!("WebDriver {path}: {}", answer["value"]);
        }
        answer["value"].clone()
    }

    async fn go(&self, url: &str) {
        self.call(reqwest::Method::POST, "/url", Some(json!({ "url": url })))
            .await;
    }

    /// Whether the page's address comes to end with `suffix` within 10 s: after a
    /// form's button is clicked, the answer's page (or a redirect) may still be on its
    /// way.
    async fn url_ends_with(&self, suffix: &str) -> bool {
        for _ in 0..100 {
            if self.url().await.ends_with(suffix) {
                return true;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        false
    }

    async fn url(&self) -> String {
        self.call(reqwest::Method::GET, "/url", None)
            .await
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// The element `css` selects, waited for: a click on a form's button returns before
    /// the browser has the answer's page (Chromium does not wait for a POST's
    /// navigation), so an element of that page may not be there yet. Up to 10 s.
    async fn find(&self, css: &str) -> String {
        for _ in 0..100 {
            if let Some(element) = self.try_find(css).await {
                return element;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        let source = self.call(reqwest::Method::GET, "/source", None).await;
        panic!(
            "no element {css} at {}:\n{}",
            self.url().await,
            source.as_str().unwrap_or_default()
        );
    }

    async fn try_find(&self, css: &str) -> Option<String> {
        let answer: Value = self
            .http
            .post(format!("{}/element", self.base))
            .json(&json!({"using": "css selector", "value": css}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        answer["value"][ELEMENT].as_str().map(str::to_owned)
    }

    async fn type_into(&self, css: &str, text: &str) {
        let element = self.find(css).await;
        self.call(
            reqwest::Method::POST,
            &format!("/element/{element}/clear"),
            Some(json!({})),
        )
        .await;
        self.call(
            reqwest::Method::POST,
            &format!("/element/{element}/value"),
            Some(json!({ "text": text })),
        )
        .await;
    }

    /// Chooses the file at `path` in the file input `css` (WebDriver types the path
    /// into it, as a person's file dialog would fill it).
    async fn choose_file(&self, css: &str, path: &std::path::Path) {
        let element = self.find(css).await;
        self.call(
            reqwest::Method::POST,
            &format!("/element/{element}/value"),
            Some(json!({ "text": path.to_str().unwrap() })),
        )
        .await;
    }

    /// Clicks what `css` selects (a link or a form's button) and waits, up to 10 s,
    /// until the browser shows the page it leads to: Chromium's WebDriver may return
    /// from a click that submits a form before the answer's page replaced this one, and
    /// what the test reads next must be of the new page. The old page is marked, and the
    /// new one is the first without the mark, fully loaded.
    async fn click(&self, css: &str) {
        let element = self.find(css).await;
        self.execute("window.__otpfobBeforeClick = true; return true;")
            .await;
        self.click_element(&element).await;
        for _ in 0..100 {
            let loaded = self
                .execute(
                    "return document.readyState === 'complete' \
                     && window.__otpfobBeforeClick === undefined;",
                )
                .await;
            if loaded == json!(true) {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        panic!("clicking {css} at {} led to no new page", self.url().await);
    }

    async fn click_element(&self, element: &str) {
        self.call(
            reqwest::Method::POST,
            &format!("/element/{element}/click"),
            Some(json!({})),
        )
        .await;
    }

    /// Runs `script` in the page (synchronously) and returns what it returns; `null`
    /// while the page is between documents.
    async fn execute(&self, script: &str) -> Value {
        let answer: Value = self
            .http
            .post(format!("{}/execute/sync", self.base))
            .json(&json!({"script": script, "args": []}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        answer["value"].clone()
    }

    /// Chooses an option of a select box: no new page.
    async fn select(&self, css: &str, value: &str) {
        let option = self.find(&format!("{css} option[value=\"{value}\"]")).await;
        self.click_element(&option).await;
    }

    async fn text(&self, css: &str) -> String {
        let element = self.find(css).await;
        self.call(
            reqwest::Method::GET,
            &format!("/element/{element}/text"),
            None,
        )
        .await
        .as_str()
        .unwrap()
        .to_owned()
    }

    async fn attribute(&self, css: &str, name: &str) -> String {
        let element = self.find(css).await;
        self.call(
            reqwest::Method::GET,
            &format!("/element/{element}/attribute/{name}"),
            None,
        )
        .await
        .as_str()
        .unwrap_or_default()
        .to_owned()
    }

    async fn page_text(&self) -> String {
        self.text("body").await
    }

    async fn screenshot(&self, name: &str) {
        let data = self.call(reqwest::Method::GET, "/screenshot", None).await;
        let png = base64::engine::general_purpose::STANDARD
            .decode(data.as_str().unwrap())
            .unwrap();
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/console-screenshots");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
    }

    /// Runs axe-core on the page: no serious or critical violation.
    async fn check_accessibility(&self, page: &str) {
        let axe = std::fs::read_to_string(axe_path()).unwrap_or_else(|error| {
            panic!(
                "axe-core not found at {} ({error}): scripts/test installs it with npm",
                axe_path().display()
            )
        });
        let script = format!(
            "{axe}\nconst done = arguments[arguments.length - 1];\
             axe.run(document).then(r => done(r.violations.filter(v => v.impact === 'serious' || v.impact === 'critical').map(v => v.id + ': ' + v.help + ' ' + v.nodes.map(n => n.target.join(' ')).join(', '))), e => done(['axe failed: ' + e]));"
        );
        let violations = self
            .call(
                reqwest::Method::POST,
                "/execute/async",
                Some(json!({"script": script, "args": []})),
            )
            .await;
        assert_eq!(violations, json!([]), "accessibility of {page}");
    }

    async fn clear_cookies(&self) {
        self.call(reqwest::Method::DELETE, "/cookie", None).await;
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let group = format!("-{}", self.child.id());
        let _ = std::process::Command::new("kill")
            .args(["-KILL", "--", &group])
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn axe_path() -> PathBuf {
    std::env::var("AXE_CORE_JS").map_or_else(
        |_| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("../target/console-browser/node_modules/axe-core/axe.min.js")
        },
        PathBuf::from,
    )
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// A staff member's authenticator: the TOTP secret read from the enrolment page.
struct Authenticator {
    totp: Totp,
    /// Steps ahead of now of the next code to type (each code is accepted once).
    next: u64,
}

impl Authenticator {
    fn code(&mut self) -> String {
        let code = self.totp.at(now() + 30 * self.next).unwrap().to_string();
        self.next += 1;
        code
    }
}

/// The verdict of the API's verify for `code`.
async fn verdict(harness: &Harness, token: &str, code: &str) -> String {
    let answer: Value = harness.verify(token, code).await.json().await.unwrap();
    answer["verdict"].as_str().unwrap_or_default().to_owned()
}

fn add_staff(harness: &Harness, name: &str, roles: &[Role]) {
    harness
        .server
        .state()
        .console()
        .staff()
        .create(
            name,
            &roles.iter().copied().collect::<BTreeSet<_>>(),
            PASSWORD,
            PasswordHashing::insecure_fast_for_tests(),
        )
        .unwrap();
}

async fn submit_sign_in(
    driver: &Driver,
    harness: &Harness,
    name: &str,
    password: &str,
    code: &str,
) {
    driver.go(&harness.url("/console/sign-in")).await;
    driver.type_into("#name", name).await;
    driver.type_into("#password", password).await;
    if !code.is_empty() {
        driver.type_into("#code", code).await;
    }
    driver.click("button[type=submit]").await;
}

/// A first sign-in: password, then the enrolment page's key URI is read and its first
/// code typed. Returns the authenticator.
async fn first_sign_in(
    driver: &Driver,
    harness: &Harness,
    name: &str,
    shots: bool,
) -> Authenticator {
    submit_sign_in(driver, harness, name, PASSWORD, "").await;
    let uri = driver.text("#key-uri").await;
    if shots {
        driver.screenshot("second-factor").await;
        driver.check_accessibility("second factor").await;
    }
    let parsed = KeyUri::parse(&uri).unwrap();
    let mut authenticator = Authenticator {
        totp: Totp::new(parsed.secret(), TotpParameters::default()).unwrap(),
        next: 0,
    };
    driver.type_into("#code", &authenticator.code()).await;
    driver.click("button[type=submit]").await;
    assert!(
        driver.url().await.ends_with("/console/tokens"),
        "{}",
        driver.url().await
    );
    authenticator
}

async fn sign_out(driver: &Driver) {
    driver.click("nav button[type=submit]").await;
    assert!(driver.url_ends_with("/console/sign-in").await);
}

/// Decodes the QR code of an `<img>` whose source is the server's SVG: its runs of dark
/// modules (`M{x} {y}h{n}v1h-{n}z`) drawn into a greyscale image for `rqrr`.
fn decode_qr_image(source: &str) -> String {
    let svg = base64::engine::general_purpose::STANDARD
        .decode(source.strip_prefix("data:image/svg+xml;base64,").unwrap())
        .unwrap();
    let svg = String::from_utf8(svg).unwrap();
    let view = svg.split("viewBox=\"0 0 ").nth(1).unwrap();
    let side: usize = view.split(' ').next().unwrap().parse().unwrap();
    let path = svg
        .split(" d=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap();
    let scale = 4;
    let width = side * scale;
    let mut pixels = vec![255u8; width * width];
    for run in path.split('M').filter(|run| !run.is_empty()) {
        let (position, rest) = run.split_once('h').unwrap();
        let (x, y) = position.split_once(' ').unwrap();
        let (x, y): (usize, usize) = (x.parse().unwrap(), y.parse().unwrap());
        let length: usize = rest.split('v').next().unwrap().parse().unwrap();
        for row in y * scale..(y + 1) * scale {
            for column in x * scale..(x + length) * scale {
                pixels[row * width + column] = 0;
            }
        }
    }
    let mut image =
        rqrr::PreparedImage::prepare_from_greyscale(width, width, |x, y| pixels[y * width + x]);
    let grids = image.detect_grids();
    assert_eq!(grids.len(), 1, "one QR code in the image");
    grids[0].decode().unwrap().1
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staff_sign_in_needs_the_password_and_a_fresh_code_and_locks() {
    let _one = ONE_AT_A_TIME.lock().await;
    let Some(driver) = browser().await else {
        return;
    };
    let harness = Harness::start(Backend::Sqlite).await;
    add_staff(&harness, "alice", &[Role::Helpdesk]);
    driver.go(&harness.url("/console/sign-in")).await;
    driver.screenshot("sign-in").await;
    driver.check_accessibility("sign-in").await;
    // Signed out, a page sends the browser to the sign-in form.
    driver.go(&harness.url("/console/tokens")).await;
    assert!(driver.url_ends_with("/console/sign-in").await);

    let mut authenticator = first_sign_in(&driver, &harness, "alice", true).await;
    sign_out(&driver).await;
    // Signed out, the old session is gone.
    driver.go(&harness.url("/console/tokens")).await;
    assert!(driver.url_ends_with("/console/sign-in").await);

    // A wrong password, an unknown name, a wrong code, a replayed code: one answer.
    let good = authenticator.code();
    submit_sign_in(&driver, &harness, "alice", "wrong password here", &good).await;
    let rejected = driver.text("[role=alert]").await;
    assert_eq!(rejected, "Sign-in rejected.");
    driver.screenshot("sign-in-rejected").await;
    submit_sign_in(&driver, &harness, "mallory", PASSWORD, &good).await;
    assert_eq!(driver.text("[role=alert]").await, rejected);
    submit_sign_in(&driver, &harness, "alice", PASSWORD, "000000").await;
    assert_eq!(driver.text("[role=alert]").await, rejected);
    submit_sign_in(&driver, &harness, "alice", PASSWORD, &good).await;
    assert!(driver.url_ends_with("/console/tokens").await);
    sign_out(&driver).await;
    submit_sign_in(&driver, &harness, "alice", PASSWORD, &good).await;
    assert_eq!(
        driver.text("[role=alert]").await,
        rejected,
        "a replayed code"
    );

    // The validator's failure limit applies: 10 wrong codes lock alice's token, and
    // then her right code is rejected too, with the same answer.
    for _ in 0..9 {
        submit_sign_in(&driver, &harness, "alice", PASSWORD, "123456").await;
        assert_eq!(driver.text("[role=alert]").await, rejected);
    }
    let right = authenticator.code();
    submit_sign_in(&driver, &harness, "alice", PASSWORD, &right).await;
    assert_eq!(driver.text("[role=alert]").await, rejected, "locked");
    let token = TokenId::new("staff.alice").unwrap();
    let state = harness
        .server
        .state()
        .blocking(move |validator| validator.store().load(&token))
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(
        state
            .state
            .lock
            .holds_at(otpfob::UnixTime::from_secs(now() as i64))
    );
    harness.server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn helpdesk_unlocks_and_resyncs_a_fob_with_a_reason_in_the_audit_trail() {
    let _one = ONE_AT_A_TIME.lock().await;
    let Some(driver) = browser().await else {
        return;
    };
    let harness = Harness::start(Backend::Sqlite).await;
    add_staff(&harness, "hank", &[Role::Helpdesk]);
    // A locked token: 10 wrong codes through the API.
    for _ in 0..10 {
        assert_eq!(verdict(&harness, "hotp-1", "000000").await, "rejected");
    }
    // An HOTP key fob pressed 50 times in a drawer: beyond the look-ahead of 10.
    let (mut fob, record) = KeyFob::builder("FOB-7", HotpParameters::default())
        .build(SystemClock)
        .unwrap();
    let secret = record.secret.clone();
    harness
        .server
        .state()
        .blocking(move |validator| {
            validator.enrol(Enrolment::new(
                TokenId::new("FOB-7").unwrap(),
                secret,
                HotpParameters::default(),
            ))
        })
        .await
        .unwrap()
        .unwrap();
    for _ in 0..50 {
        let _ = fob.press().unwrap();
    }

    first_sign_in(&driver, &harness, "hank", false).await;
    driver.select("#status", "locked").await;
    driver.click("form.search:nth-of-type(2) button").await;
    driver.screenshot("token-list").await;
    driver.check_accessibility("token list").await;
    driver.click("a[href='/console/tokens/hotp-1']").await;
    assert_eq!(
        driver.text("#lock").await,
        "locked after 10 consecutive failures"
    );
    driver.screenshot("token-locked").await;
    driver.check_accessibility("token page").await;
    driver.select("#action", "unlock").await;
    driver
        .type_into("#action-reason", "customer called, identity checked")
        .await;
    driver.click("#do-action").await;
    assert_eq!(driver.text("#lock").await, "not locked");
    assert!(driver.page_text().await.contains("Done: unlock."));
    // The newest event: the unlock, by hank, through the console, with his reason in
    // its own column (the audit event's own field, not folded into the actor).
    let cell = |column: usize| {
        format!("section[aria-labelledby=trail] tbody tr:first-child td:nth-child({column})")
    };
    assert_eq!(driver.text(&cell(2)).await, "unlock");
    assert_eq!(driver.text(&cell(4)).await, "console:hank");
    assert_eq!(driver.text(&cell(5)).await, "console");
    assert_eq!(
        driver.text(&cell(6)).await,
        "customer called, identity checked"
    );
    assert_eq!(
        verdict(&harness, "hotp-1", &support::hotp_code(0)).await,
        "accepted"
    );

    // Resync from two consecutive codes of the fob.
    driver.go(&harness.url("/console/tokens?id=FOB-7")).await;
    let first = fob.press().unwrap().code().to_string();
    let second = fob.press().unwrap().code().to_string();
    driver.type_into("#first", &first).await;
    driver.type_into("#second", &second).await;
    driver
        .type_into("#resync-reason", "fob out of sync, two codes read out")
        .await;
    driver.click("#do-resync").await;
    // Counters 50 and 51 were read out; the offset is the second's from the expected 0.
    assert!(
        driver
            .page_text()
            .await
            .contains("Resynchronised: the token was 51 steps or presses away."),
        "{}",
        driver.page_text().await
    );
    driver.screenshot("token-resynced").await;
    assert_eq!(driver.text("#counter").await, "52");
    let next = fob.press().unwrap().code().to_string();
    assert_eq!(verdict(&harness, "FOB-7", &next).await, "accepted");
    // A reason is required: the browser enforces `minlength`, and the server refuses a
    // short one from a client that does not (the same session and form, sent directly).
    let cookie = driver
        .call(reqwest::Method::GET, "/cookie/otpfob_console", None)
        .await["value"]
        .as_str()
        .unwrap()
        .to_owned();
    let csrf = driver.attribute("input[name=csrf]", "value").await;
    let page = reqwest::Client::new()
        .post(harness.url("/console/tokens/FOB-7/action"))
        .header("origin", &harness.base)
        .header("cookie", format!("otpfob_console={cookie}"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("action", "disable"),
            ("reason", "x"),
        ])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("A reason of 3 to 200 characters is needed"),
        "{page}"
    );
    driver.go(&harness.url("/console/tokens/FOB-7")).await;
    assert!(driver.text("#status").await.starts_with("active"));
    harness.server.stop().await;
}

/// Issue 14, item 4: a fob enrolled from its factory record (with its unlock key) is
/// locked by wrong PINs; the helpdesk types the challenge it shows into its token page
/// with a reason, reads the unlock code from the answer (in no URL), and the code
/// unlocks the fob. The trail names the staff member and the reason, never the code;
/// a token without an unlock key has no such form.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn helpdesk_answers_a_locked_fobs_unlock_challenge() {
    let _one = ONE_AT_A_TIME.lock().await;
    let Some(driver) = browser().await else {
        return;
    };
    let harness = Harness::start(Backend::Sqlite).await;
    add_staff(&harness, "hana", &[Role::Helpdesk]);
    let (mut fob, record) = KeyFob::builder("OTPF-0000000099", TotpParameters::default())
        .pin("2468")
        .build(SystemClock)
        .unwrap();
    let hex = |bytes: &[u8]| -> String { bytes.iter().map(|byte| format!("{byte:02x}")).collect() };
    let enrolled = harness
        .http
        .post(harness.url("/v1/factory-records"))
        .bearer_auth(harness.key("admin"))
        .json(&json!({
            "serial": record.serial.as_str(),
            "secret_hex": hex(record.secret.expose_bytes()),
            "kind": "totp",
            "unlock_key_hex": hex(record.unlock_key.expose_bytes()),
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(enrolled.status().as_u16(), 201);
    drop(record);
    for _ in 0..3 {
        let _ = fob.enter_pin("0000");
    }
    assert_eq!(fob.state(), otpfob::device::DeviceState::Locked);
    let challenge = fob.unlock_challenge().unwrap().to_string();

    first_sign_in(&driver, &harness, "hana", false).await;
    driver.go(&harness.url("/console/tokens/hotp-1")).await;
    driver.find("#status").await;
    assert!(driver.try_find("#unlock-challenge").await.is_none());
    assert_eq!(driver.text("#unlock-key").await, "none");
    driver
        .go(&harness.url("/console/tokens/OTPF-0000000099"))
        .await;
    assert!(driver.text("#unlock-key").await.starts_with("held"));
    // Read out in two groups, as a customer does.
    let spoken = format!("{} {}", &challenge[..4], &challenge[4..]);
    driver.type_into("#unlock-challenge", &spoken).await;
    driver
        .type_into(
            "#unlock-reason",
            "fob locked by wrong PINs, customer identified",
        )
        .await;
    driver.screenshot("unlock-code-form").await;
    driver.click("#do-unlock-code").await;
    let code = driver.text("#unlock-code").await;
    assert_eq!(code.len(), 8, "{code}");
    assert!(!driver.url().await.contains(&code));
    driver.screenshot("unlock-code").await;
    driver.check_accessibility("unlock code").await;
    fob.unlock(&code.parse().unwrap(), "1357").unwrap();
    fob.enter_pin("1357").unwrap();
    assert!(fob.press().is_ok());

    driver
        .click("a[href='/console/tokens/OTPF-0000000099']")
        .await;
    let cell = |column: usize| {
        format!("section[aria-labelledby=trail] tbody tr:first-child td:nth-child({column})")
    };
    assert_eq!(driver.text(&cell(2)).await, "unlock_code");
    assert_eq!(driver.text(&cell(4)).await, "console:hana");
    assert_eq!(
        driver.text(&cell(6)).await,
        "fob locked by wrong PINs, customer identified"
    );
    let page = driver.page_text().await;
    assert!(
        !page.contains(&code) && !page.contains(&challenge),
        "{page}"
    );

    // A challenge mistyped is refused on the token page, with nothing done.
    driver.type_into("#unlock-challenge", "1234567").await;
    driver
        .type_into("#unlock-reason", "second try, customer misread")
        .await;
    driver.click("#do-unlock-code").await;
    assert!(
        driver
            .page_text()
            .await
            .contains("Not done: Invalid unlock challenge"),
        "{}",
        driver.page_text().await
    );
    assert_eq!(driver.text(&cell(2)).await, "unlock_code");
    assert_eq!(
        driver.text(&cell(6)).await,
        "fob locked by wrong PINs, customer identified"
    );
    harness.server.stop().await;
}

/// The ids in the token list's table of the page shown.
async fn listed_ids(driver: &Driver) -> Vec<String> {
    let ids = driver
        .execute(
            "return Array.from(document.querySelectorAll('#tokens tbody tr td:first-child'))\
             .map(cell => cell.textContent);",
        )
        .await;
    serde_json::from_value(ids).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn helpdesk_finds_a_customers_tokens_and_filters_by_life_cycle_status() {
    let _one = ONE_AT_A_TIME.lock().await;
    let Some(driver) = browser().await else {
        return;
    };
    let harness = Harness::start(Backend::Sqlite).await;
    add_staff(&harness, "hank", &[Role::Helpdesk]);
    for id in ["fob-a", "fob-b", "fob-c", "fob-lost", "fob-revoked"] {
        harness.enrol_hotp(id).await;
    }
    let now = now() as i64;
    harness
        .server
        .state()
        .blocking(move |validator| -> Result<(), otpfob::ValidatorError> {
            let id = |text: &str| TokenId::new(text).unwrap();
            let customer = |text: &str| otpfob::validator::CustomerRef::new(text).unwrap();
            // A fob whose end of life has passed: still `active`, refused as expired.
            validator.enrol(
                Enrolment::new(
                    id("fob-ended"),
                    otpfob::Secret::from_bytes(support::SECRET).unwrap(),
                    HotpParameters::default(),
                )
                .with_validity(otpfob::validator::Validity::new(
                    None,
                    Some(otpfob::UnixTime::from_secs(now - 60)),
                )?),
            )?;
            validator.assign_owner(&id("fob-a"), &customer("C-1001"))?;
            validator.assign_owner(&id("fob-lost"), &customer("C-1001"))?;
            validator.assign_owner(&id("fob-b"), &customer("C-2002"))?;
            validator.report_lost(&id("fob-lost"))?;
            validator.revoke(&id("fob-revoked"))?;
            Ok(())
        })
        .await
        .unwrap()
        .unwrap();
    first_sign_in(&driver, &harness, "hank", false).await;

    // Every token but the staff member's own second factor (`staff.hank`).
    assert_eq!(
        listed_ids(&driver).await,
        [
            "fob-a",
            "fob-b",
            "fob-c",
            "fob-ended",
            "fob-lost",
            "fob-revoked",
            "hotp-1"
        ]
    );
    assert!(!driver.page_text().await.contains("staff."));

    // A customer reference with two tokens lists them.
    driver.type_into("#id", "C-1001").await;
    driver.click("#do-find").await;
    assert_eq!(listed_ids(&driver).await, ["fob-a", "fob-lost"]);
    assert!(
        driver
            .page_text()
            .await
            .contains("Tokens of customer C-1001")
    );
    driver.screenshot("token-search-customer").await;
    driver.check_accessibility("a customer's tokens").await;
    // The list has the helpdesk's code lookup among the customer's tokens.
    driver.type_into("#lookup-code", "000000").await;
    driver.click("#do-lookup").await;
    assert!(
        driver
            .page_text()
            .await
            .contains("No token of customer C-1001 shows this code now.")
    );
    driver.go(&harness.url("/console/tokens?id=C-1001")).await;
    // One with one token opens its page.
    driver.type_into("#id", "C-2002").await;
    driver.click("#do-find").await;
    assert!(driver.url_ends_with("/console/tokens/fob-b").await);
    assert_eq!(driver.text("#owner").await, "C-2002");
    // A serial opens its page.
    driver.go(&harness.url("/console/tokens?id=fob-c")).await;
    assert!(driver.url_ends_with("/console/tokens/fob-c").await);
    // A staff member's token is not found, nor is an unknown reference.
    for text in ["staff.hank", "C-9999"] {
        driver.go(&harness.url("/console/tokens")).await;
        driver.type_into("#id", text).await;
        driver.click("#do-find").await;
        assert!(
            driver
                .text("#no-tokens")
                .await
                .starts_with("No token has the id, serial or customer reference"),
            "{text}"
        );
    }

    // The status filters, the life cycle's included.
    for (status, ids) in [
        ("lost", &["fob-lost"][..]),
        ("revoked", &["fob-revoked"][..]),
        ("expired", &["fob-ended"][..]),
        ("active", &["fob-a", "fob-b", "fob-c", "hotp-1"][..]),
    ] {
        driver.go(&harness.url("/console/tokens")).await;
        driver.select("#status", status).await;
        driver.click("#do-filter").await;
        assert_eq!(listed_ids(&driver).await, ids, "{status}");
        if status == "expired" {
            assert!(
                driver
                    .text("#tokens tbody tr td:nth-child(3)")
                    .await
                    .contains("(expired)")
            );
            driver.screenshot("token-list-expired").await;
        }
    }
    harness.server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_enrols_a_soft_token_whose_qr_code_verifies_and_imports_under_dual_control() {
    let _one = ONE_AT_A_TIME.lock().await;
    let Some(driver) = browser().await else {
        return;
    };
    let harness = Harness::start(Backend::Sqlite).await;
    add_staff(&harness, "ada", &[Role::Admin]);
    add_staff(&harness, "bert", &[Role::Admin]);
    let mut ada = first_sign_in(&driver, &harness, "ada", false).await;
    driver.go(&harness.url("/console/admin")).await;
    driver.type_into("#enrol-id", "soft-1").await;
    driver.select("#enrol-kind", "totp").await;
    driver
        .type_into("#enrol-reason", "new customer, branch 12")
        .await;
    driver.click("#do-enrol").await;
    driver.screenshot("enrolled").await;
    driver.check_accessibility("administration").await;
    let shown = driver.text("#key-uri").await;
    let decoded = decode_qr_image(&driver.attribute("#qr", "src").await);
    assert_eq!(decoded, shown, "the QR code holds the key URI shown");
    let uri = KeyUri::parse(&decoded).unwrap();
    let code = Totp::new(uri.secret(), TotpParameters::default())
        .unwrap()
        .at(now())
        .unwrap()
        .to_string();
    assert_eq!(verdict(&harness, "soft-1", &code).await, "accepted");
    // Shown once: the admin page again has no key URI.
    driver.go(&harness.url("/console/admin")).await;
    assert!(!driver.page_text().await.contains("otpauth://"));

    // A PSKC import waits for a second administrator.
    let file = harness.setup.path().join("vendor-batch-7.xml");
    std::fs::write(&file, pskc_document()).unwrap();
    driver.choose_file("#import-file", &file).await;
    driver.type_into("#import-reason", "vendor batch 7").await;
    driver.click("#do-import").await;
    let page = driver.page_text().await;
    assert!(
        page.contains("(import vendor-batch-7.xml) waits for a second administrator"),
        "{page}"
    );
    assert!(
        driver
            .page_text()
            .await
            .contains("waits for another administrator")
    );
    let pending = harness
        .server
        .state()
        .console()
        .staff()
        .actions(10)
        .unwrap();
    let number = pending[0].id;
    assert_eq!(pending[0].target, "vendor-batch-7.xml");
    refuses_forged_and_oversized_uploads(&driver, &harness).await;
    // Ada cannot approve her own import: the form is not there, and a forged one is
    // refused.
    assert!(!driver.page_text().await.contains("Approve"));
    sign_out(&driver).await;
    let _ = ada.code();

    first_sign_in(&driver, &harness, "bert", false).await;
    driver.go(&harness.url("/console/admin")).await;
    driver.screenshot("pending-import").await;
    // The large upload is refused, and its file dropped.
    let large = number + 1;
    driver.click(&format!("#refuse-{large}")).await;
    assert!(
        driver
            .page_text()
            .await
            .contains(&format!("Refused pending action {large}."))
    );
    driver.click(&format!("#approve-{number}")).await;
    let page = driver.page_text().await;
    assert!(page.contains("Imported 1 keys, refused 0."), "{page}");
    driver.screenshot("import-approved").await;
    assert_eq!(
        verdict(&harness, "PSKC-1", &support::hotp_code(0)).await,
        "accepted"
    );
    harness.server.stop().await;
}

/// The newest pending action's number.
fn newest_action(harness: &Harness) -> i64 {
    harness.server.state().console().staff().actions(1).unwrap()[0].id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_and_reseal_wait_for_a_second_administrator() {
    let _one = ONE_AT_A_TIME.lock().await;
    let Some(driver) = browser().await else {
        return;
    };
    // Tokens sealed under key 1, then the server restarted with key 2 current (key 1
    // kept to open them): the rotation a reseal finishes.
    let mut setup = Setup::new(Backend::Sqlite);
    let second_key = setup.path().join("sealing-key-2");
    otpfob_server::config::write_private(
        &second_key,
        b"202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f\n",
    )
    .unwrap();
    let mut key = setup.config.sealing.keys[0].clone();
    key.id = 2;
    key.file = Some(second_key);
    setup.config.sealing.keys.push(key);
    let harness = Harness::start_with(setup).await;
    harness.enrol_hotp("fob-gone").await;
    let Harness {
        mut setup,
        server,
        http,
        ..
    } = harness;
    server.stop().await;
    setup.config.sealing.current = 2;
    let server = otpfob_server::start(setup.config.clone()).await.unwrap();
    let harness = Harness {
        base: format!("http://{}", server.address()),
        setup,
        server,
        http,
    };
    let keys_in_use = || async {
        harness
            .server
            .state()
            .blocking(|validator| validator.sealing_keys_in_use())
            .await
            .unwrap()
            .unwrap()
    };
    assert_eq!(keys_in_use().await.get(&1), Some(&2), "hotp-1 and fob-gone");
    add_staff(&harness, "ada", &[Role::Admin]);
    add_staff(&harness, "bert", &[Role::Admin, Role::Audit]);

    // Ada asks for both; neither runs.
    let mut ada = first_sign_in(&driver, &harness, "ada", false).await;
    driver.go(&harness.url("/console/admin")).await;
    driver.select("#request-kind", "delete").await;
    driver.type_into("#request-target", "fob-gone").await;
    driver
        .type_into("#request-reason", "fob returned broken, ticket 4711")
        .await;
    driver.click("#do-request").await;
    let delete = newest_action(&harness);
    assert!(
        driver.page_text().await.contains(&format!(
            "Pending action {delete} (delete fob-gone) waits for a second administrator."
        )),
        "{}",
        driver.page_text().await
    );
    driver.select("#request-kind", "reseal").await;
    driver
        .type_into("#request-reason", "key rotation, change 2026-12")
        .await;
    driver.click("#do-request").await;
    let reseal = newest_action(&harness);
    assert!(
        driver
            .try_find(&format!("#approve-{reseal}"))
            .await
            .is_none()
    );
    assert_eq!(
        verdict(&harness, "fob-gone", &support::hotp_code(0)).await,
        "accepted",
        "not deleted before the approval"
    );
    assert_eq!(keys_in_use().await.get(&1), Some(&2), "not resealed yet");
    // A forged approval of her own action is refused.
    let cookie = driver
        .call(reqwest::Method::GET, "/cookie/otpfob_console", None)
        .await["value"]
        .as_str()
        .unwrap()
        .to_owned();
    let csrf = driver.attribute("input[name=csrf]", "value").await;
    let own = reqwest::Client::new()
        .post(harness.url("/console/admin/decide"))
        .header("origin", &harness.base)
        .header("cookie", format!("otpfob_console={cookie}"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("action", &delete.to_string()),
            ("decision", "approve"),
        ])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(own.contains("or it is your own"), "{own}");
    sign_out(&driver).await;
    let _ = ada.code();

    // Bert approves both.
    first_sign_in(&driver, &harness, "bert", false).await;
    driver.go(&harness.url("/console/admin")).await;
    driver.screenshot("pending-delete-reseal").await;
    driver.click(&format!("#approve-{delete}")).await;
    let page = driver.page_text().await;
    assert!(
        page.contains(&format!("Pending action {delete}: Deleted fob-gone.")),
        "{page}"
    );
    assert_eq!(
        verdict(&harness, "fob-gone", &support::hotp_code(1)).await,
        "rejected"
    );
    driver.click(&format!("#approve-{reseal}")).await;
    let page = driver.page_text().await;
    // hotp-1 is the one token left under key 1 (the staff tokens are under key 2).
    assert!(
        page.contains(&format!(
            "Pending action {reseal}: Resealed 1 tokens under the current key."
        )),
        "{page}"
    );
    driver.screenshot("delete-reseal-approved").await;
    assert_eq!(
        keys_in_use().await.get(&1),
        None,
        "nothing left under key 1"
    );
    assert_eq!(
        verdict(&harness, "hotp-1", &support::hotp_code(0)).await,
        "accepted",
        "the resealed token still verifies"
    );
    // The trail names both administrators and the requester's reason.
    driver.go(&harness.url("/console/tokens/hotp-1")).await;
    // (Who, channel and the reason given are the last three cells of its row.)
    let trail = driver.page_text().await;
    assert!(
        trail.contains("console:bert approving ada console key rotation, change 2026-12"),
        "{trail}"
    );
    driver.go(&harness.url("/console/tokens/fob-gone")).await;
    assert!(driver.page_text().await.contains("No token has this id."));
    harness.server.stop().await;
}

/// A `multipart/form-data` body of `fields` (name, file name, content) and its
/// content type.
fn multipart(fields: &[(&str, Option<&str>, &[u8])]) -> (String, Vec<u8>) {
    let boundary = "otpfob-test-boundary-7f3a";
    let mut body = Vec::new();
    for (name, file_name, content) in fields {
        body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        match file_name {
            Some(file) => body.extend_from_slice(
                format!("Content-Disposition: form-data; name=\"{name}\"; filename=\"{file}\"\r\nContent-Type: application/xml\r\n\r\n").as_bytes(),
            ),
            None => body.extend_from_slice(
                format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n").as_bytes(),
            ),
        }
        body.extend_from_slice(content);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// The upload's checks, sent directly with the browser's session: the CSRF token must
/// be the first field, the origin this console's, and the file within `import_bytes`;
/// none of these asks for an import.
async fn refuses_forged_and_oversized_uploads(driver: &Driver, harness: &Harness) {
    let cookie = driver
        .call(reqwest::Method::GET, "/cookie/otpfob_console", None)
        .await["value"]
        .as_str()
        .unwrap()
        .to_owned();
    let csrf = driver.attribute("input[name=csrf]", "value").await;
    let document = pskc_document();
    let send = |origin: String, fields: Vec<(&'static str, Option<&'static str>, Vec<u8>)>| {
        let cookie = cookie.clone();
        let url = harness.url("/console/admin/import");
        async move {
            let borrowed: Vec<(&str, Option<&str>, &[u8])> = fields
                .iter()
                .map(|(name, file, content)| (*name, *file, content.as_slice()))
                .collect();
            let (content_type, body) = multipart(&borrowed);
            let answer = reqwest::Client::new()
                .post(url)
                .header("origin", origin)
                .header("cookie", format!("otpfob_console={cookie}"))
                .header("content-type", content_type)
                .body(body)
                .send()
                .await
                .unwrap();
            (answer.status().as_u16(), answer.text().await.unwrap())
        }
    };
    let csrf_field = || ("csrf", None, csrf.clone().into_bytes());
    let reason = || ("reason", None, b"vendor batch 8".to_vec());
    let file = |content: Vec<u8>| ("document", Some("batch-8.xml"), content);
    // The CSRF token after the file: refused before the file is read.
    let (status, page) = send(
        harness.base.clone(),
        vec![file(document.clone().into_bytes()), csrf_field(), reason()],
    )
    .await;
    assert_eq!(status, 403, "{page}");
    assert!(page.contains("did not come from this console"), "{page}");
    // Another origin, with the right token.
    let (status, _) = send(
        "http://evil.example".to_owned(),
        vec![csrf_field(), file(document.clone().into_bytes()), reason()],
    )
    .await;
    assert_eq!(status, 403);
    // A file larger than `import_bytes` (4 MiB by default).
    let (_, page) = send(
        harness.base.clone(),
        vec![
            csrf_field(),
            file(vec![b'x'; 4 * 1024 * 1024 + 1]),
            reason(),
        ],
    )
    .await;
    assert!(page.contains("The file could not be read"), "{page}");
    // An empty file.
    let (_, page) = send(
        harness.base.clone(),
        vec![csrf_field(), file(Vec::new()), reason()],
    )
    .await;
    assert!(page.contains("Choose the PSKC file to import."), "{page}");
    let actions = harness
        .server
        .state()
        .console()
        .staff()
        .actions(10)
        .unwrap();
    assert_eq!(actions.len(), 1, "only the browser's import was asked for");
    // A file past the server's other bodies' limit (16 KiB) but within `import_bytes`
    // is taken; it is refused by the second administrator below.
    let mut large = document.into_bytes();
    large.resize(64 * 1024, b' ');
    let (status, page) = send(
        harness.base.clone(),
        vec![csrf_field(), file(large), reason()],
    )
    .await;
    assert_eq!(status, 200, "{page}");
    assert!(
        page.contains("(import batch-8.xml) waits for a second administrator"),
        "{page}"
    );
}

/// An unencrypted PSKC document with the RFC 4226 secret as HOTP key `PSKC-1`.
fn pskc_document() -> String {
    let secret = base64::engine::general_purpose::STANDARD.encode(support::SECRET);
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<KeyContainer Version="1.0" xmlns="urn:ietf:params:xml:ns:keyprov:pskc">
  <KeyPackage>
    <DeviceInfo><Manufacturer>Manufacturer</Manufacturer><SerialNo>PSKC-1</SerialNo></DeviceInfo>
    <Key Id="PSKC-1" Algorithm="urn:ietf:params:xml:ns:keyprov:pskc:hotp">
      <AlgorithmParameters><ResponseFormat Length="6" Encoding="DECIMAL"/></AlgorithmParameters>
      <Data><Secret><PlainValue>{secret}</PlainValue></Secret><Counter><PlainValue>0</PlainValue></Counter></Data>
    </Key>
  </KeyPackage>
</KeyContainer>"#
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_posts_foreign_roles_and_expired_sessions_are_refused() {
    let _one = ONE_AT_A_TIME.lock().await;
    let Some(driver) = browser().await else {
        return;
    };
    let mut setup = Setup::new(Backend::Sqlite);
    setup.config.console.idle_timeout_seconds = 4;
    let harness = Harness::start_with(setup).await;
    add_staff(&harness, "hank", &[Role::Helpdesk]);
    for _ in 0..10 {
        assert_eq!(verdict(&harness, "hotp-1", "000000").await, "rejected");
    }
    first_sign_in(&driver, &harness, "hank", false).await;

    // The page's headers: no script, no framing.
    let answer = reqwest::get(harness.url("/console/sign-in")).await.unwrap();
    let csp = answer.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(csp.contains("default-src 'none'") && csp.contains("frame-ancestors 'none'"));
    assert!(
        !csp.contains("script-src"),
        "no script source at all: {csp}"
    );
    assert_eq!(answer.headers()["x-frame-options"], "DENY");
    let cookie = answer.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );

    // A helpdesk member is refused the administration pages.
    driver.go(&harness.url("/console/admin")).await;
    assert_eq!(
        driver.text("[role=alert]").await,
        "This page needs the role admin."
    );
    driver.screenshot("helpdesk-refused-admin").await;
    // ...and a token's administration forms, on the page and on the server: a well-formed
    // revoke, owner or replace POST with his own session and CSRF token is a 403.
    driver.go(&harness.url("/console/tokens/hotp-1")).await;
    assert!(driver.try_find("#do-revoke").await.is_none());
    assert!(
        driver.try_find("#do-temporary").await.is_some(),
        "helpdesk's own form"
    );
    let cookie = driver
        .call(reqwest::Method::GET, "/cookie/otpfob_console", None)
        .await["value"]
        .as_str()
        .unwrap()
        .to_owned();
    let own_csrf = driver.attribute("input[name=csrf]", "value").await;
    for (path, fields) in [
        ("revoke", vec![("confirm", "hotp-1")]),
        ("owner", vec![("customer", "C-1")]),
        ("replace", vec![("kind", "totp"), ("new_id", "app-9")]),
    ] {
        let mut form = vec![("csrf", own_csrf.as_str()), ("reason", "not my job")];
        form.extend(fields);
        let answer = reqwest::Client::new()
            .post(harness.url(&format!("/console/tokens/hotp-1/{path}")))
            .header("origin", &harness.base)
            .header("cookie", format!("otpfob_console={cookie}"))
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 403, "{path}");
    }
    let state: Value = harness
        .http
        .get(harness.url("/v1/tokens/hotp-1"))
        .bearer_auth(harness.key("helpdesk"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(state["status"], "active", "{state}");
    assert!(state.get("owner").is_none_or(Value::is_null), "{state}");

    // CSRF: a page on another origin posts the unlock form, even with the session's
    // real CSRF token planted in it; the Origin check refuses it.
    driver.go(&harness.url("/console/tokens/hotp-1")).await;
    let csrf = driver.attribute("input[name=csrf]", "value").await;
    let target = harness.url("/console/tokens/hotp-1/action");
    let attacker = format!(
        "<!DOCTYPE html><html lang=en><title>prize</title><form method=post action=\"{target}\">\
         <input type=hidden name=csrf value=\"{csrf}\"><input type=hidden name=action value=unlock>\
         <input type=hidden name=reason value=forged><button id=win>Win</button></form></html>"
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let evil = format!("http://{}", listener.local_addr().unwrap());
    let app = axum::Router::new().route(
        "/",
        axum::routing::get(move || {
            let page = attacker.clone();
            async move { axum::response::Html(page) }
        }),
    );
    let evil_server = tokio::spawn(async move { axum::serve(listener, app).await });
    driver.go(&evil).await;
    driver.click("#win").await;
    assert!(
        driver
            .page_text()
            .await
            .contains("did not come from this console"),
        "{}",
        driver.page_text().await
    );
    driver.screenshot("csrf-refused").await;
    driver.go(&harness.url("/console/tokens/hotp-1")).await;
    assert_eq!(
        driver.text("#lock").await,
        "locked after 10 consecutive failures"
    );
    // The same form without the token, from this console's own page: refused too.
    let forged = reqwest::Client::new()
        .post(harness.url("/console/tokens/hotp-1/action"))
        .header("origin", &harness.base)
        .form(&[
            ("csrf", "guess"),
            ("action", "unlock"),
            ("reason", "forged"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 403);
    evil_server.abort();

    // The session ends after the idle timeout (4 s here).
    tokio::time::sleep(Duration::from_secs(5)).await;
    driver.go(&harness.url("/console/tokens")).await;
    assert!(driver.url_ends_with("/console/sign-in").await, "expired");
    driver.clear_cookies().await;
    harness.server.stop().await;
}

/// A token's state through the API (helpdesk role).
async fn token_state(harness: &Harness, id: &str) -> Value {
    harness
        .http
        .get(harness.url(&format!("/v1/tokens/{id}")))
        .bearer_auth(harness.key("helpdesk"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// The texts of the elements `css` selects, in page order.
async fn texts(driver: &Driver, css: &str) -> Vec<String> {
    let script = format!(
        "return Array.from(document.querySelectorAll({css:?})).map(e => e.textContent.trim());"
    );
    serde_json::from_value(driver.execute(&script).await).unwrap()
}

/// Issue 15, items 1 and 3, from the console: an administrator gives a fob its
/// customer; the helpdesk reports it lost and issues emergency codes (shown once,
/// single use) and a use-limited temporary soft token; the found fob works again and
/// ends both; the fob is replaced by a fresh soft token for the same customer, which is
/// then revoked, final. Every step's reason is in the trail.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_fob_gets_temporary_replacements_then_is_found_replaced_and_revoked() {
    let _one = ONE_AT_A_TIME.lock().await;
    let Some(driver) = browser().await else {
        return;
    };
    let harness = Harness::start(Backend::Sqlite).await;
    add_staff(&harness, "rita", &[Role::Helpdesk, Role::Admin]);
    first_sign_in(&driver, &harness, "rita", false).await;
    driver.go(&harness.url("/console/tokens/hotp-1")).await;

    // A temporary replacement is for the customer: none without one.
    driver.type_into("#temporary-id", "hotp-1-codes").await;
    driver
        .type_into("#temporary-reason", "customer lost the fob")
        .await;
    driver.click("#do-temporary").await;
    assert!(driver.page_text().await.contains("No replacement issued:"));
    assert!(texts(&driver, "#emergency-codes li").await.is_empty());
    // The report came first and stands: the safe side.
    assert_eq!(driver.text("#status").await, "lost");

    driver.type_into("#owner-customer", "C-7001").await;
    driver
        .type_into("#owner-reason", "account opened in branch 4")
        .await;
    driver.click("#do-owner").await;
    assert_eq!(driver.text("#owner").await, "C-7001");

    // Issue 15, item 4: the helpdesk finds which of the customer's tokens shows a code
    // the customer reads out, without accepting it (the fob is accepted below).
    // (The customer has one token, so the search opens its page, which has the form.)
    driver.go(&harness.url("/console/tokens")).await;
    driver.type_into("#id", "C-7001").await;
    driver.click("#do-find").await;
    driver.type_into("#lookup-code", "000000").await;
    driver.click("#do-lookup").await;
    assert!(
        driver
            .page_text()
            .await
            .contains("No token of customer C-7001 shows this code now.")
    );
    driver.go(&harness.url("/console/tokens?id=C-7001")).await;
    driver
        .type_into("#lookup-code", &support::hotp_code(0))
        .await;
    driver.click("#do-lookup").await;
    let page = driver.page_text().await;
    assert!(
        page.contains("The code is from hotp-1 (lost). It was not accepted."),
        "{page}"
    );
    driver.go(&harness.url("/console/tokens/hotp-1")).await;

    // Lost, with five emergency codes shown once.
    driver.select("#temporary-kind", "codes").await;
    driver.type_into("#temporary-id", "hotp-1-codes").await;
    driver.type_into("#temporary-count", "5").await;
    driver
        .type_into("#temporary-reason", "customer lost the fob")
        .await;
    driver.click("#do-temporary").await;
    driver.screenshot("token-lost-emergency-codes").await;
    driver
        .check_accessibility("lost token with emergency codes")
        .await;
    let codes = texts(&driver, "#emergency-codes li").await;
    assert_eq!(codes.len(), 5, "{}", driver.page_text().await);
    assert!(codes.iter().all(|code| code.len() == 8), "{codes:?}");
    assert_eq!(driver.text("#status").await, "lost");
    assert_eq!(
        verdict(&harness, "hotp-1", &support::hotp_code(0)).await,
        "rejected",
        "a lost fob's codes are refused"
    );
    assert_eq!(
        verdict(&harness, "hotp-1-codes", &codes[0]).await,
        "accepted"
    );
    assert_eq!(
        verdict(&harness, "hotp-1-codes", &codes[0]).await,
        "rejected",
        "each code works once"
    );
    driver.go(&harness.url("/console/tokens/hotp-1")).await;
    assert!(
        !driver.page_text().await.contains(&codes[1]),
        "the codes are shown once"
    );

    // A temporary soft token of two uses, its QR code shown once.
    driver.select("#temporary-kind", "soft").await;
    driver.type_into("#temporary-id", "hotp-1-app").await;
    driver.type_into("#temporary-uses", "2").await;
    driver
        .type_into("#temporary-reason", "customer prefers the app")
        .await;
    driver.click("#do-temporary").await;
    let shown = driver.text("#key-uri").await;
    assert_eq!(
        decode_qr_image(&driver.attribute("#qr", "src").await),
        shown
    );
    let app = Totp::new(
        KeyUri::parse(&shown).unwrap().secret(),
        TotpParameters::default(),
    )
    .unwrap();
    assert_eq!(
        verdict(&harness, "hotp-1-app", &app.at(now()).unwrap().to_string()).await,
        "accepted"
    );
    let temporary = token_state(&harness, "hotp-1-app").await;
    assert_eq!(temporary["uses_left"], 1, "{temporary}");
    assert_eq!(temporary["replaces"], "hotp-1", "{temporary}");
    assert_eq!(temporary["owner"], "C-7001", "{temporary}");

    // Found: the fob works again, and both replacements end.
    driver.go(&harness.url("/console/tokens/hotp-1")).await;
    driver.select("#action", "found").await;
    driver
        .type_into("#action-reason", "found in a coat pocket")
        .await;
    driver.click("#do-action").await;
    assert_eq!(driver.text("#status").await, "active");
    for replacement in ["hotp-1-codes", "hotp-1-app"] {
        assert_eq!(
            token_state(&harness, replacement).await["status"],
            "revoked",
            "{replacement}"
        );
    }
    assert_eq!(
        verdict(&harness, "hotp-1-codes", &codes[1]).await,
        "rejected"
    );
    assert_eq!(
        verdict(&harness, "hotp-1", &support::hotp_code(0)).await,
        "accepted"
    );

    // Replaced by a fresh soft token for the same customer.
    driver.select("#replace-kind", "totp").await;
    driver.type_into("#replace-id", "app-2").await;
    driver
        .type_into("#replace-reason", "fob battery is failing")
        .await;
    driver.click("#do-replace").await;
    driver.screenshot("token-replaced").await;
    assert_eq!(driver.text("#status").await, "revoked");
    let shown = driver.text("#key-uri").await;
    let fresh = Totp::new(
        KeyUri::parse(&shown).unwrap().secret(),
        TotpParameters::default(),
    )
    .unwrap();
    assert_eq!(
        verdict(&harness, "app-2", &fresh.at(now()).unwrap().to_string()).await,
        "accepted"
    );
    assert_eq!(token_state(&harness, "app-2").await["owner"], "C-7001");
    assert_eq!(
        verdict(&harness, "hotp-1", &support::hotp_code(1)).await,
        "rejected",
        "the replaced fob is revoked"
    );

    // Revocation asks for the id typed again, and is final.
    driver.go(&harness.url("/console/tokens/app-2")).await;
    driver.type_into("#revoke-confirm", "app-3").await;
    driver
        .type_into("#revoke-reason", "customer closed the account")
        .await;
    driver.click("#do-revoke").await;
    assert!(driver.page_text().await.contains("Not revoked"));
    assert_eq!(driver.text("#status").await, "active");
    driver.type_into("#revoke-confirm", "app-2").await;
    driver
        .type_into("#revoke-reason", "customer closed the account")
        .await;
    driver.click("#do-revoke").await;
    assert_eq!(driver.text("#status").await, "revoked");
    assert_eq!(
        verdict(
            &harness,
            "app-2",
            &fresh.at(now() + 30).unwrap().to_string()
        )
        .await,
        "rejected"
    );

    // The fob's trail holds each step with its reason, newest first.
    driver.go(&harness.url("/console/tokens/hotp-1")).await;
    let reasons = texts(
        &driver,
        "section[aria-labelledby=trail] tbody td:nth-child(6)",
    )
    .await;
    for reason in [
        "fob battery is failing",
        "found in a coat pocket",
        "customer lost the fob",
        "account opened in branch 4",
    ] {
        assert!(
            reasons.iter().any(|given| given == reason),
            "{reason}: {reasons:?}"
        );
    }
    // The soft token's enrolment is in its own trail.
    driver.go(&harness.url("/console/tokens/hotp-1-app")).await;
    let reasons = texts(
        &driver,
        "section[aria-labelledby=trail] tbody td:nth-child(6)",
    )
    .await;
    assert!(
        reasons
            .iter()
            .any(|given| given == "customer prefers the app"),
        "{reasons:?}"
    );
    harness.server.stop().await;
}
