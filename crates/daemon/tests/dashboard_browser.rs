//! The web dashboard at `/`: served from the binary with its content types, CSP and ETag; and in a
//! real browser (headless chromium over WebDriver), what a person sees on a daemon with a synthetic
//! fleet and a live controlled workload in forecast-only mode: the fleet overview lists the
//! workloads on their fingerprint map, the workload page draws the forecast band, a decision's
//! explanation is shown, and the kill switch refuses a wrong token (nothing changes) and engages
//! with the right one. Any console error fails the test (the browser's log, read through the
//! driver); screenshots go to `target/dashboard-screenshots/`. Without chromium and chromedriver
//! the browser test is skipped with a message, except under `CI=true`, where it fails.

mod common;

use common::*;
use prescale_core::{Interval, Timestamp};
use prescale_daemon::{Daemon, DaemonConfig};
use prescale_ingest::remote_write::{encode, from_points};
use prescale_store::Store;
use prescale_telemetry::synthetic::{demo_fleet, DemoConfig};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use thirtyfour::prelude::*;
use thirtyfour::{BrowserLogEntry, LoggingPrefsLogLevel};

const TOKEN: &str = "dashboard-token-0123456789";
/// Synthetic workloads in the store before start.
const FLEET: usize = 8;
/// The live controlled workload.
const LIVE: &str = "live";
/// A time zone far from UTC, so local time cannot pass for UTC by accident.
const TZ: &str = "Pacific/Chatham";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dashboard_assets_are_embedded_with_their_types_and_csp() {
    let d = start("").await;
    for (path, kind) in [
        ("/", "text/html"),
        ("/dashboard/app.js", "text/javascript"),
        ("/dashboard/style.css", "text/css"),
    ] {
        let (status, headers, body) = fetch(&d.base, path, None).await;
        assert_eq!(status, 200, "{path}");
        assert!(
            headers["content-type"].starts_with(kind),
            "{path}: {headers:?}"
        );
        assert_eq!(
            headers["content-security-policy"],
            prescale_daemon::http::DASHBOARD_CSP
        );
        assert_eq!(headers["x-content-type-options"], "nosniff");
        assert!(!body.is_empty());
        let etag = headers["etag"].clone();
        let (status, _, body) = fetch(&d.base, path, Some(&etag)).await;
        assert_eq!(status, 304, "{path} with If-None-Match {etag}");
        assert!(body.is_empty());
        let (status, _, _) = fetch(&d.base, path, Some("\"0000000000000000\"")).await;
        assert_eq!(status, 200, "{path}: a stale ETag gets the file");
    }
    let csp = prescale_daemon::http::DASHBOARD_CSP;
    assert!(csp.contains("default-src 'none'") && csp.contains("connect-src 'self'"));
    let (s, text) = get(&d.base, "/metrics").await;
    assert_eq!(s, 200);
    assert!(
        text.contains(r#"route="/",status="304""#),
        "dashboard requests are counted: {text}"
    );
    d.daemon.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_shows_the_fleet_a_workload_and_guards_the_kill_switch() {
    let Some(browser) = Browser::find() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("prescale.db");
    prefill(&db);
    let daemon = Daemon::start(DaemonConfig::from_toml(&config(&db)).unwrap())
        .await
        .unwrap();
    let base = format!("http://{}", daemon.local_addr());
    let t0 = now_ms() - 60_000;
    let history: Vec<_> = (0..240)
        .map(|i| {
            let ts = t0 + i * 250;
            ("requests", vec![("job", LIVE)], ts, demand(ts))
        })
        .collect();
    let (s, b) = post_write(&base, encode(&from_points(history))).await;
    assert_eq!(s, 204, "{b}");
    let feeder = tokio::spawn(feed_forever(base.clone()));

    // What the page will show exists in the API first: clusters, a forecast, explained decisions.
    until(&base, "/api/v1/clusters", |_| true).await;
    until(&base, &format!("/api/v1/workloads/{LIVE}/forecast"), |_| {
        true
    })
    .await;
    until(&base, &format!("/api/v1/decisions?workload={LIVE}"), |v| {
        v["decisions"]
            .as_array()
            .is_some_and(|d| d.len() >= 3 && d.iter().any(|x| x["inputs"]["demand"].is_number()))
    })
    .await;

    let driver = browser.session().await;
    let mut log = Vec::new();
    let shots = screenshots_dir();

    // Fleet overview: every stored workload in the table, the live one controlled, the map drawn.
    driver.goto(format!("{base}/")).await.unwrap();
    let (_, listed) = get(&base, "/api/v1/workloads").await;
    let listed = json(&listed)["workloads"].as_array().unwrap().len();
    assert!(listed > FLEET, "the fleet and the live workload are stored");
    wait(
        &driver,
        "the fleet table and map",
        &format!(
            "return document.querySelectorAll('#workloads tbody tr').length >= {listed} \
         && document.querySelectorAll('#fleet-map circle').length >= {FLEET}"
        ),
    )
    .await;
    let row = driver
        .find(By::Css(format!("#workloads tr[data-workload='{LIVE}']")))
        .await
        .unwrap();
    let row_text = row.text().await.unwrap();
    assert!(row_text.contains("controlled"), "{row_text}");
    let mode = driver.find(By::Id("mode-state")).await.unwrap();
    assert_eq!(mode.text().await.unwrap(), "mode: forecast-only");
    let timing = measure(&driver).await;
    driver.screenshot(&shots.join("fleet.png")).await.unwrap();
    log.extend(driver.browser_log().await.unwrap());

    // A workload page: the band is drawn, the latest decisions are shown with their explanation.
    driver
        .find(By::Css(format!("#workloads a[href='#/workload/{LIVE}']")))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait(
        &driver,
        "the chart with its band, actual and replicas",
        "const b = document.querySelector('#chart polygon.band'); \
         return !!b && b.getAttribute('points').trim().split(/\\s+/).length >= 4 \
           && !!document.querySelector('#chart path.actual') \
           && !!document.querySelector('#chart path.replicas') \
           && document.querySelectorAll('#decisions td.reason').length >= 1",
    )
    .await;
    let band = driver
        .find(By::Css("#chart polygon.band"))
        .await
        .unwrap()
        .attr("points")
        .await
        .unwrap()
        .unwrap_or_default();
    let corners: Vec<(f64, f64)> = band
        .split_whitespace()
        .map(|p| {
            let (x, y) = p.split_once(',').unwrap();
            (x.parse().unwrap(), y.parse().unwrap())
        })
        .collect();
    assert!(
        corners.len() >= 4 && corners.len().is_multiple_of(2),
        "{band}"
    );
    assert!(
        corners.iter().all(|(x, y)| x.is_finite() && y.is_finite()),
        "{band}"
    );
    let shown = driver
        .find(By::Css("#decisions td.reason"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let (_, recent) = get(
        &base,
        &format!("/api/v1/decisions?workload={LIVE}&limit=200"),
    )
    .await;
    let reasons: Vec<String> = json(&recent)["decisions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["reason"].as_str().unwrap().to_string())
        .collect();
    assert!(
        reasons
            .iter()
            .any(|r| !r.is_empty() && shown.starts_with(r.as_str())),
        "the explanation shown ({shown:?}) is a stored decision's reason"
    );
    // Times are local: the page names the browser's zone, and each <time> carries the API's RFC
    // 3339 instant and shows it in that zone.
    let zone = driver
        .find(By::Id("tz"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(zone, TZ);
    let stamp = driver
        .execute(
            "const t = document.querySelector('#decisions time'); \
             return [t.getAttribute('datetime'), t.textContent, \
                     new Date(t.getAttribute('datetime')).toLocaleString()];",
            vec![],
        )
        .await
        .unwrap()
        .json()
        .clone();
    let rfc = stamp[0].as_str().unwrap();
    assert!(rfc.ends_with('Z') && rfc.len() == 24, "{stamp}");
    assert_eq!(stamp[1], stamp[2], "shown in local time: {stamp}");
    assert!(
        json(&recent)["decisions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["at_rfc3339"] == rfc),
        "{rfc} is a decision's at_rfc3339"
    );
    driver
        .screenshot(&shots.join("workload.png"))
        .await
        .unwrap();
    log.extend(driver.browser_log().await.unwrap());

    // The decision log.
    driver
        .find(By::Id("nav-decisions"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait(
        &driver,
        "the decision log",
        &format!(
            "return [...document.querySelectorAll('#decisions tr.decision a')]\
             .some((a) => a.textContent === '{LIVE}')"
        ),
    )
    .await;
    driver
        .screenshot(&shots.join("decisions.png"))
        .await
        .unwrap();

    // The kill switch: a wrong token is refused with the API's reason and changes nothing.
    assert!(!kill_switch(&base).await);
    driver
        .find(By::Id("kill-toggle"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait(
        &driver,
        "the token dialog",
        "return document.getElementById('token-dialog').open",
    )
    .await;
    let input = driver.find(By::Id("token")).await.unwrap();
    input.send_keys("not-the-token").await.unwrap();
    driver
        .find(By::Id("token-ok"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait(
        &driver,
        "the refusal",
        "return document.getElementById('token-error').textContent.includes('wrong bearer token')",
    )
    .await;
    let refusal = driver
        .find(By::Id("token-error"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(refusal.contains("401"), "{refusal}");
    driver
        .screenshot(&shots.join("kill-switch-refused.png"))
        .await
        .unwrap();
    assert!(!kill_switch(&base).await, "a wrong token changes nothing");
    let state = driver
        .find(By::Id("kill-state"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(state, "kill switch: off");

    // ... and the right token engages it.
    input.clear().await.unwrap();
    input.send_keys(TOKEN).await.unwrap();
    driver
        .find(By::Id("token-ok"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait(
        &driver,
        "the engaged kill switch",
        "return !document.getElementById('token-dialog').open \
           && document.getElementById('kill-state').textContent === 'kill switch: engaged'",
    )
    .await;
    assert!(kill_switch(&base).await);
    driver
        .screenshot(&shots.join("kill-switch-engaged.png"))
        .await
        .unwrap();
    log.extend(driver.browser_log().await.unwrap());

    let errors: Vec<&BrowserLogEntry> = log.iter().filter(|e| !expected(e)).collect();
    assert!(errors.is_empty(), "console errors: {errors:#?}");
    timing.report(&shots);

    driver.quit().await.unwrap();
    drop(browser);
    feeder.abort();
    daemon.shutdown().await.unwrap();
}

/// A browser log entry that is not an error, or the network line of an answer the page expects
/// and shows: 401 from the kill switch (the wrong token), 404 from a not-yet-learned forecast,
/// fingerprint or clustering.
fn expected(e: &BrowserLogEntry) -> bool {
    if e.level != "SEVERE" {
        return true;
    }
    let network = e.source.as_deref() == Some("network");
    let refused = e.message.contains("/api/v1/kill-switch ") && e.message.contains("status of 401");
    let not_yet = ["/forecast ", "/fingerprint ", "/api/v1/clusters "]
        .iter()
        .any(|p| e.message.contains(p))
        && e.message.contains("status of 404");
    network && (refused || not_yet)
}

/// Load figures of the fleet page, measured in the browser.
struct Timing {
    first_render_ms: f64,
    workloads_call_ms: f64,
    transferred: Value,
    /// The page and its script parsed (DOMContentLoaded done), after navigation start.
    loaded_ms: f64,
}

impl Timing {
    /// Prints the figures and saves them beside the screenshots.
    fn report(&self, dir: &Path) {
        let text = format!(
            "page weight: {} bytes (index.html + app.js + style.css, uncompressed)\n\
             page and script loaded (DOMContentLoaded): {:.0} ms after navigation start\n\
             first render of the fleet page: {:.0} ms after navigation start\n\
             one GET /api/v1/workloads from the page: {:.1} ms\n\
             transferred (name, bytes over the wire, body bytes): {}\n",
            prescale_daemon::http::DASHBOARD_BYTES,
            self.loaded_ms,
            self.first_render_ms,
            self.workloads_call_ms,
            self.transferred
        );
        println!("{text}");
        std::fs::write(dir.join("timings.txt"), text).unwrap();
    }
}

async fn measure(driver: &WebDriver) -> Timing {
    let v = driver
        .execute(
            "return (async () => {
               const mark = performance.getEntriesByName('prescale:first-render')[0];
               const t = performance.now();
               const r = await fetch('/api/v1/workloads');
               await r.json();
               const call = performance.now() - t;
               const sizes = performance.getEntriesByType('navigation')
                 .concat(performance.getEntriesByType('resource').filter((e) => e.name.includes('/dashboard/')))
                 .map((e) => [new URL(e.name).pathname, e.transferSize, e.decodedBodySize]);
               const nav = performance.getEntriesByType('navigation')[0];
               return [mark ? mark.startTime : -1, call, sizes, nav.domContentLoadedEventEnd];
             })();",
            vec![],
        )
        .await
        .unwrap()
        .json()
        .clone();
    let first_render_ms = v[0].as_f64().unwrap();
    assert!(
        first_render_ms > 0.0,
        "the page marks its first render: {v}"
    );
    Timing {
        first_render_ms,
        workloads_call_ms: v[1].as_f64().unwrap(),
        transferred: v[2].clone(),
        loaded_ms: v[3].as_f64().unwrap(),
    }
}

/// Runs `script` (a function body returning a boolean) until it returns true.
async fn wait(driver: &WebDriver, what: &str, script: &str) {
    let start = Instant::now();
    loop {
        let ok = driver
            .execute(script, vec![])
            .await
            .unwrap()
            .json()
            .as_bool()
            == Some(true);
        if ok {
            return;
        }
        if start.elapsed() > Duration::from_secs(30) {
            let shot = screenshots_dir().join("timed-out.png");
            let _ = driver.screenshot(&shot).await;
            let logs = driver.browser_log().await.unwrap_or_default();
            panic!("timed out waiting for {what} (screenshot {shot:?}); browser log: {logs:#?}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// `target/dashboard-screenshots/`, created.
fn screenshots_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    let dir = target.join("dashboard-screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// chromedriver on a free loopback port, driving headless chromium.
struct Browser {
    driver: Child,
    url: String,
    chromium: PathBuf,
}

impl Browser {
    /// Starts chromedriver; `None` (with a message) when chromium or chromedriver is missing,
    /// a failure under `CI=true`.
    fn find() -> Option<Browser> {
        let path = |var: &str, default: &str| {
            PathBuf::from(std::env::var(var).unwrap_or_else(|_| default.to_string()))
        };
        let chromedriver = path("CHROMEDRIVER", "/usr/bin/chromedriver");
        let chromium = path("CHROMIUM", "/usr/bin/chromium");
        if !chromedriver.exists() || !chromium.exists() {
            let why = format!(
                "{} or {} is missing (Debian: apt-get install chromium chromium-driver)",
                chromedriver.display(),
                chromium.display()
            );
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "the browser test cannot run under CI: {why}"
            );
            eprintln!("skipping the browser test: {why}");
            return None;
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut cmd = Command::new(&chromedriver);
        cmd.arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        if Path::new("/usr/share/zoneinfo").join(TZ).exists() {
            cmd.env("TZ", TZ);
        }
        let driver = cmd.spawn().expect("chromedriver starts");
        let url = format!("http://127.0.0.1:{port}");
        let start = Instant::now();
        while http().get(&format!("{url}/status")).call().is_err() {
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "chromedriver did not answer"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Some(Browser {
            driver,
            url,
            chromium,
        })
    }

    async fn session(&self) -> WebDriver {
        let mut caps = DesiredCapabilities::chrome();
        caps.set_binary(&self.chromium.display().to_string())
            .unwrap();
        for arg in [
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--window-size=1280,1500",
            "--lang=en-GB",
        ] {
            caps.add_arg(arg).unwrap();
        }
        caps.set_browser_log_level(LoggingPrefsLogLevel::All)
            .unwrap();
        WebDriver::new(&self.url, caps).await.unwrap()
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// The daemon's config: the token, a fast tick, a learn loop that fingerprints every second, one
/// live controlled workload (forecast-only, the default mode) deciding every second.
fn config(db: &Path) -> String {
    format!(
        r#"listen = "127.0.0.1:0"
db = {db:?}
api_token = "{TOKEN}"
tick = "200ms"

[agent]
enabled = false

[learn]
fingerprint_every = "1s"
cluster_every = "1h"
windows = ["1h", "6h"]

[[workload]]
workload = "{LIVE}"
metric = "requests"
capacity_per_replica = 10.0
step = "1s"
lead = "2s"
stale_after = "1h"
actuator = {{ type = "dry-run" }}
"#,
        db = db.display().to_string()
    )
}

/// Three days of the synthetic fleet at 5 min steps, ending now.
fn prefill(db: &Path) {
    let end = now_ms() / 300_000 * 300_000;
    let fleet = demo_fleet(&DemoConfig {
        workloads: FLEET,
        days: 3,
        interval: Interval::from_secs(300).unwrap(),
        start: Timestamp(end - 3 * 86_400_000),
        seed: 11,
    })
    .unwrap();
    let mut store = Store::open(db).unwrap();
    for s in &fleet {
        store.upsert_series(s).unwrap();
    }
}

fn demand(ts: i64) -> f64 {
    50.0 + 10.0 * (ts as f64 / 5000.0).sin()
}

/// A fresh sample of the live workload every 250 ms.
async fn feed_forever(base: String) {
    loop {
        let ts = now_ms();
        let points = vec![("requests", vec![("job", LIVE)], ts, demand(ts))];
        post_write(&base, encode(&from_points(points))).await;
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

/// GETs `path` until a 200 answer's JSON satisfies `done` (at most 60 s).
async fn until(base: &str, path: &str, done: impl Fn(&Value) -> bool) -> Value {
    let start = Instant::now();
    loop {
        let (s, text) = get(base, path).await;
        if s == 200 {
            let v = json(&text);
            if done(&v) {
                return v;
            }
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "timed out waiting on {path}: last answer {s} {text}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn kill_switch(base: &str) -> bool {
    let (s, text) = get(base, "/api/v1/kill-switch").await;
    assert_eq!(s, 200, "{text}");
    json(&text)["global"].as_bool().unwrap()
}

/// GET with an optional `If-None-Match`: status, lower-case headers and body.
async fn fetch(
    base: &str,
    path: &str,
    if_none_match: Option<&str>,
) -> (u16, std::collections::HashMap<String, String>, String) {
    let url = format!("{base}{path}");
    let tag = if_none_match.map(str::to_string);
    tokio::task::spawn_blocking(move || {
        let mut req = http().get(&url);
        if let Some(t) = tag {
            req = req.header("If-None-Match", t);
        }
        let mut r = req.call().unwrap();
        let headers = r
            .headers()
            .iter()
            .map(|(k, v)| (k.as_str().to_string(), v.to_str().unwrap_or("").to_string()))
            .collect();
        let status = r.status().as_u16();
        (
            status,
            headers,
            r.body_mut().read_to_string().unwrap_or_default(),
        )
    })
    .await
    .unwrap()
}
