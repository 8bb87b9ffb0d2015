//! A small W3C WebDriver client for the browser tests: chromedriver as a child process driving
//! Debian's headless Chromium over plain HTTP (reqwest), with the few commands the tests need
//! (navigate, find, click, type, run a script, wait, screenshot, read the console log).
//!
//! Why our own client: a handful of JSON requests is all the tests need, and it keeps the test
//! dependencies to what the crate already has. The tests need Debian's `chromium` and
//! `chromium-driver` (`scripts/test-deps.sh` installs them; `make test` runs it); without them
//! [`require_chromium`] fails the test and says so: a browser test never passes silently.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{json, Value};

pub const CHROMIUM: &str = "/usr/bin/chromium";
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// The key WebDriver sends for Escape.
pub const ESCAPE: &str = "\u{E00C}";
/// The property naming an element reference in WebDriver JSON.
const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";
/// How long [`Browser::find`] waits for an element to appear.
const FIND_TIMEOUT: Duration = Duration::from_secs(20);

/// Fails the test, with the fix, when Chromium or chromedriver is not installed.
pub fn require_chromium() {
    for program in [CHROMIUM, CHROMEDRIVER] {
        assert!(
            Path::new(program).exists(),
            "{program} is missing: run `scripts/test-deps.sh` (it installs Debian's chromium and \
             chromium-driver; `make test` runs it first)"
        );
    }
}

/// A reference to an element of the page, as WebDriver hands it out.
pub struct Element(pub String);

impl Element {
    pub fn from_json(value: &Value) -> Element {
        let id = value[ELEMENT_KEY]
            .as_str()
            .unwrap_or_else(|| panic!("not an element: {value}"));
        Element(id.to_owned())
    }

    /// The element as a script argument.
    pub fn json(&self) -> Value {
        json!({ ELEMENT_KEY: self.0 })
    }
}

/// chromedriver as a child process, with one Chromium session; both end when this is dropped.
pub struct Browser {
    http: reqwest::Client,
    driver: Child,
    port: u16,
    session: String,
    profile: tempfile::TempDir,
    /// Prepended to every script run in the page: helper definitions of the page under test.
    prelude: String,
}

impl Browser {
    pub async fn start() -> Browser {
        require_chromium();
        let port = free_port();
        let driver = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot start {CHROMEDRIVER}: {e}; run scripts/test-deps.sh")
            });
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(120))
            .build()
            .unwrap();
        let profile = tempfile::tempdir().unwrap();
        let mut browser = Browser {
            http,
            driver,
            port,
            session: String::new(),
            profile,
            prelude: String::new(),
        };
        browser.wait_for_driver().await;
        let capabilities = json!({
            "capabilities": { "alwaysMatch": {
                "browserName": "chrome",
                // Keeps the page's console messages, for `console_errors`.
                "goog:loggingPrefs": { "browser": "ALL" },
                "goog:chromeOptions": {
                    "binary": CHROMIUM,
                    "args": [
                        "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                        "--disable-quic", "--no-first-run", "--disable-background-networking",
                        "--disable-component-update", "--disable-sync", "--lang=vi-VN",
                        format!("--user-data-dir={}", browser.profile.path().display()),
                        "--window-size=1280,900"
                    ]
                }
            }}
        });
        let created = browser
            .request(Method::POST, "/session", capabilities)
            .await;
        browser.session = created["sessionId"].as_str().unwrap().to_owned();
        browser
    }

    /// Sets the script text prepended to every script this browser runs in the page (e.g. a
    /// helper that returns a shadow root).
    pub fn with_prelude(mut self, prelude: &str) -> Browser {
        self.prelude = prelude.to_owned();
        self
    }

    async fn wait_for_driver(&self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let status = self
                .http
                .get(format!("http://127.0.0.1:{}/status", self.port))
                .send()
                .await;
            if let Ok(response) = status {
                let body: Value = response.json().await.unwrap_or_default();
                if body["value"]["ready"] == true {
                    return;
                }
            }
            assert!(
                Instant::now() < deadline,
                "chromedriver did not start within 30 s"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// One WebDriver command; returns its `value`, fails the test on a WebDriver error.
    async fn request(&self, method: Method, path: &str, body: Value) -> Value {
        let url = format!("http://127.0.0.1:{}{path}", self.port);
        let mut request = self.http.request(method.clone(), &url);
        if method != Method::GET && method != Method::DELETE {
            request = request.json(&body);
        }
        let response = request
            .send()
            .await
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        let status = response.status();
        let body: Value = response.json().await.unwrap_or_default();
        assert!(status.is_success(), "{method} {path} → {status}: {body}");
        body["value"].clone()
    }

    /// A command of this browser's session (`path` is relative to `/session/{id}`).
    pub async fn command(&self, method: Method, path: &str, body: Value) -> Value {
        self.request(method, &format!("/session/{}{path}", self.session), body)
            .await
    }

    pub async fn goto(&self, url: &str) {
        self.command(Method::POST, "/url", json!({ "url": url }))
            .await;
    }

    /// The address of the page shown now.
    pub async fn current_url(&self) -> String {
        let url = self.command(Method::GET, "/url", json!({})).await;
        url.as_str().unwrap_or_default().to_owned()
    }

    /// Waits until the page shown has the path `path` (after redirects and form posts), and
    /// has finished loading.
    pub async fn wait_for_path(&self, path: &str) {
        let script = format!(
            "return document.readyState === 'complete' && location.pathname === {}",
            serde_json::to_string(path).unwrap()
        );
        self.wait_for(
            &format!("the page {path}"),
            Duration::from_secs(30),
            &script,
        )
        .await;
    }

    /// Runs `script` (the body of a function; `arguments` holds `args`) in the page.
    pub async fn execute(&self, script: &str, args: Value) -> Value {
        let script = format!("{}{script}", self.prelude);
        self.command(
            Method::POST,
            "/execute/sync",
            json!({ "script": script, "args": args }),
        )
        .await
    }

    /// Polls `script` until it returns something other than null/false/empty.
    pub async fn wait_for(&self, what: &str, timeout: Duration, script: &str) -> Value {
        let deadline = Instant::now() + timeout;
        loop {
            let value = self.execute(script, json!([])).await;
            let empty = value.is_null() || value == false || value == "";
            if !empty {
                return value;
            }
            assert!(Instant::now() < deadline, "waited {timeout:?} for {what}");
            tokio::time::sleep(Duration::from_millis(150)).await;
        }
    }

    pub async fn wait_until(&self, what: &str, script: &str) {
        self.wait_for(what, Duration::from_secs(10), script).await;
    }

    /// The element `script` returns, once it returns one.
    pub async fn element_by_script(&self, what: &str, script: &str) -> Element {
        let found = self.wait_for(what, FIND_TIMEOUT, script).await;
        Element::from_json(&found)
    }

    /// The first element of the document matching the CSS `selector`, once it exists.
    pub async fn find(&self, selector: &str) -> Element {
        let script = format!(
            "return document.querySelector({})",
            serde_json::to_string(selector).unwrap()
        );
        self.element_by_script(selector, &script).await
    }

    /// The text of the first element matching `selector`, as shown (`innerText`).
    pub async fn text_of(&self, selector: &str) -> String {
        let element = self.find(selector).await;
        let text = self
            .execute("return arguments[0].innerText", json!([element.json()]))
            .await;
        text.as_str().unwrap_or_default().to_owned()
    }

    pub async fn click(&self, element: &Element) {
        self.command(
            Method::POST,
            &format!("/element/{}/click", element.0),
            json!({}),
        )
        .await;
    }

    /// Types `text` into the element as keystrokes, after what it holds.
    pub async fn type_text(&self, element: &Element, text: &str) {
        self.command(
            Method::POST,
            &format!("/element/{}/value", element.0),
            json!({ "text": text }),
        )
        .await;
    }

    /// Empties an input or a text area.
    pub async fn clear(&self, element: &Element) {
        self.command(
            Method::POST,
            &format!("/element/{}/clear", element.0),
            json!({}),
        )
        .await;
    }

    /// Presses Escape on whatever has the focus, as a person would.
    pub async fn press_escape_on_focused(&self) {
        let keys = json!({ "actions": [{
            "type": "key", "id": "keyboard",
            "actions": [{ "type": "keyDown", "value": ESCAPE }, { "type": "keyUp", "value": ESCAPE }]
        }]});
        self.command(Method::POST, "/actions", keys).await;
    }

    pub async fn set_window(&self, width: u32, height: u32) {
        self.command(
            Method::POST,
            "/window/rect",
            json!({ "width": width, "height": height }),
        )
        .await;
    }

    /// The cookies the browser holds for the page shown (WebDriver sees HttpOnly ones too).
    pub async fn cookies(&self) -> Vec<Value> {
        let cookies = self.command(Method::GET, "/cookie", json!({})).await;
        cookies.as_array().cloned().unwrap_or_default()
    }

    /// The console messages of level error (SEVERE) logged since the last call: script errors,
    /// Content-Security-Policy violations, failed loads.
    pub async fn console_errors(&self) -> Vec<String> {
        let entries = self
            .command(Method::POST, "/se/log", json!({ "type": "browser" }))
            .await;
        entries
            .as_array()
            .into_iter()
            .flatten()
            .filter(|entry| entry["level"] == "SEVERE")
            .map(|entry| entry["message"].as_str().unwrap_or_default().to_owned())
            .collect()
    }

    pub async fn screenshot(&self) -> Vec<u8> {
        let encoded = self.command(Method::GET, "/screenshot", json!({})).await;
        base64_decode(encoded.as_str().unwrap())
    }

    pub async fn quit(mut self) {
        self.command(Method::DELETE, "", json!({})).await;
        self.session.clear();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // A failed test still closes Chromium (chromedriver's children outlive a killed driver):
        // a plain HTTP DELETE, as this runs outside async code.
        if !self.session.is_empty() {
            if let Ok(mut stream) = TcpStream::connect(("127.0.0.1", self.port)) {
                let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
                let request = format!(
                    "DELETE /session/{} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
                    self.session
                );
                if stream.write_all(request.as_bytes()).is_ok() {
                    let mut sink = Vec::new();
                    let _ = stream.read_to_end(&mut sink);
                }
            }
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// Saves a screenshot under `target/test-output/` for a person to look at.
pub async fn save_screenshot(browser: &Browser, name: &str) -> PathBuf {
    let png = browser.screenshot().await;
    assert!(png.starts_with(b"\x89PNG"), "not a PNG");
    let out = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/test-output");
    std::fs::create_dir_all(&out).unwrap();
    let path = out.join(name);
    std::fs::write(&path, &png).unwrap();
    path
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Standard base64 (WebDriver screenshots); no crate for one test helper.
pub fn base64_decode(text: &str) -> Vec<u8> {
    let value = |c: u8| -> u32 {
        match c {
            b'A'..=b'Z' => u32::from(c - b'A'),
            b'a'..=b'z' => u32::from(c - b'a') + 26,
            b'0'..=b'9' => u32::from(c - b'0') + 52,
            b'+' => 62,
            b'/' => 63,
            _ => panic!("not base64: {c}"),
        }
    };
    let clean: Vec<u8> = text
        .bytes()
        .filter(|c| !c.is_ascii_whitespace() && *c != b'=')
        .collect();
    let mut out = Vec::with_capacity(clean.len() * 3 / 4);
    for chunk in clean.chunks(4) {
        let mut bits = 0u32;
        for (i, c) in chunk.iter().enumerate() {
            bits |= value(*c) << (18 - 6 * i);
        }
        let bytes = bits.to_be_bytes();
        out.extend_from_slice(&bytes[1..chunk.len()]);
    }
    out
}
