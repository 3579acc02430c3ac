//! Reports against a real redis-server: report.json validates against its
//! schema (Python's jsonschema, Draft 2020-12), its histograms decode and add
//! up, report.md has the tables, report.html renders its SVG charts in
//! headless Chromium, and --hdr-log writes a valid HdrHistogram interval log.
//! Also the workload presets, whose effect is checked in the server.

// Test code: a failed unwrap is a failed test, with its message.
#![allow(clippy::unwrap_used)]

mod common;

use common::{ok, report, run_program, validate};
use resp::Frame;
use std::path::Path;
use std::time::Duration;
use testkit::Server;

const LIMIT: Duration = Duration::from_secs(120);

#[test]
fn two_targets_report_validates_and_histograms_add_up() {
    let a = Server::redis();
    let b = Server::redis();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("r");
    let log = tmp.path().join("run.hlog");
    let ta = format!("alpha={}", a.addr());
    let tb = format!("beta={}", b.addr());
    let out = ok(
        &[
            "--target",
            &ta,
            "--target",
            &tb,
            "-t",
            "set,get",
            "-n",
            "3000",
            "-c",
            "8",
            "-r",
            "100",
            "-q",
            "--report",
            dir.to_str().unwrap(),
            "--hdr-log",
            log.to_str().unwrap(),
            "--interval-ms",
            "100",
        ],
        LIMIT,
    );
    // Tests interleave over targets: SET on both, then GET on both (order rotates).
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 4, "{out}");
    assert!(
        lines[0].starts_with("SET [alpha]") && lines[1].starts_with("SET [beta]"),
        "{out}"
    );
    assert!(
        lines[2].starts_with("GET [beta]") && lines[3].starts_with("GET [alpha]"),
        "{out}"
    );
    validate(&dir);
    let r = report(&dir);
    assert_eq!(r["targets"].as_array().unwrap().len(), 2);
    assert_eq!(
        r["targets"][0]["info"]["redis_version"]
            .as_str()
            .map(|v| v.starts_with('7')),
        Some(true)
    );
    assert!(r["machine"]["cores"].as_u64().unwrap() >= 1);
    for run in r["runs"].as_array().unwrap() {
        assert_eq!(run["requests"], 3000);
        assert_eq!(run["latency"]["count"], 3000);
        let buckets: u64 = run["histogram"]["buckets"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b[1].as_u64().unwrap())
            .sum();
        assert_eq!(buckets, 3000, "every request is in the histogram");
        let h = shoal_tools::bench::hist::decode(run["histogram"]["hdr_base64"].as_str().unwrap())
            .unwrap();
        assert_eq!(h.len(), 3000);
        assert!(
            (h.value_at_quantile(0.99) as f64 / 1000.0
                - run["latency"]["p99_ms"].as_f64().unwrap())
            .abs()
                < 1e-9
        );
        let per_interval: u64 = run["intervals"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["requests"].as_u64().unwrap())
            .sum();
        assert_eq!(per_interval, 3000);
        let binned: u64 = run["throughput"]["counts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_u64().unwrap())
            .sum();
        assert_eq!(binned, 3000);
    }
    let md = std::fs::read_to_string(dir.join("report.md")).unwrap();
    assert!(
        md.contains("### SET") && md.contains("| alpha |") && md.contains("| beta |"),
        "{md}"
    );
    // "vs first" compares with the first --target, even where beta ran first (GET).
    let alpha_rows: Vec<&str> = md
        .lines()
        .filter(|l| l.starts_with("| alpha | closed |"))
        .collect();
    assert_eq!(alpha_rows.len(), 2, "{md}");
    assert!(alpha_rows.iter().all(|l| l.contains("| 1.00× |")), "{md}");
    // The interval log reads back with tags and all requests.
    let bytes = std::fs::read(&log).unwrap();
    let mut total = 0;
    let mut tags = std::collections::BTreeSet::new();
    for entry in hdrhistogram::serialization::interval_log::IntervalLogIterator::new(&bytes) {
        if let Ok(hdrhistogram::serialization::interval_log::LogEntry::Interval(i)) = entry {
            tags.insert(i.tag().map(|t| t.as_str().to_string()).unwrap_or_default());
            let h: hdrhistogram::Histogram<u64> = hdrhistogram::serialization::Deserializer::new()
                .deserialize(&mut base64_decode(i.encoded_histogram()).as_slice())
                .unwrap();
            total += h.len();
        }
    }
    assert_eq!(total, 4 * 3000);
    assert_eq!(
        tags.into_iter().collect::<Vec<_>>(),
        ["alpha/get", "alpha/set", "beta/get", "beta/set"]
    );
}

fn base64_decode(s: &str) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.decode(s).unwrap()
}

/// Open report.html in headless Chromium with a probe that measures every
/// chart's lines, and take a screenshot.
fn render_in_chromium(dir: &Path) -> serde_json::Value {
    let html = std::fs::read_to_string(dir.join("report.html")).unwrap();
    let probe = r#"<pre id="probe"></pre><script>
const out = [...document.querySelectorAll('svg.chart')].map(svg => {
  const lines = [...svg.querySelectorAll('polyline.series')];
  const box = svg.getBoundingClientRect();
  return { title: svg.getAttribute('aria-label'), width: box.width, height: box.height,
           lines: lines.length,
           drawn: lines.filter(l => l.getTotalLength() > 10 && l.getBBox().width > 0).length };
});
document.getElementById('probe').textContent = JSON.stringify(out);
</script></body>"#;
    let probed = dir.join("probed.html");
    std::fs::write(&probed, html.replace("</body>", probe)).unwrap();
    let profile = tempfile::tempdir().unwrap();
    let profile_arg = format!("--user-data-dir={}", profile.path().display());
    let common = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        &profile_arg,
    ];
    let url = format!("file://{}", probed.display());
    let mut args: Vec<&str> = common.to_vec();
    args.extend(["--virtual-time-budget=3000", "--dump-dom", &url]);
    let out = run_program("chromium", &args, LIMIT);
    let dom = String::from_utf8_lossy(&out.stdout);
    let json = dom
        .split("<pre id=\"probe\">")
        .nth(1)
        .and_then(|s| s.split("</pre>").next())
        .unwrap_or_else(|| {
            panic!(
                "no probe in the DOM (is chromium installed? scripts/setup.d/tools.sh)\n{}",
                String::from_utf8_lossy(&out.stderr)
            )
        });
    let json = json
        .replace("&quot;", "\"")
        .replace("&amp;", "&")
        .replace("&lt;", "<")
        .replace("&gt;", ">");
    let shot = dir.join("report.png");
    let shot_arg = format!("--screenshot={}", shot.display());
    let page = format!("file://{}", dir.join("report.html").display());
    let mut args: Vec<&str> = common.to_vec();
    args.extend(["--window-size=1200,2000", &shot_arg, &page]);
    let out = run_program("chromium", &args, LIMIT);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let png = std::fs::read(&shot).unwrap();
    assert!(
        png.starts_with(b"\x89PNG") && png.len() > 20_000,
        "screenshot of {} bytes",
        png.len()
    );
    serde_json::from_str(&json).unwrap_or_else(|e| panic!("probe output {json}: {e}"))
}

#[test]
fn html_report_charts_render_in_chromium() {
    let a = Server::redis();
    let b = Server::redis();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("r");
    let ta = format!("shoal={}", a.addr());
    let tb = format!("redis={}", b.addr());
    ok(
        &[
            "--target",
            &ta,
            "--target",
            &tb,
            "-t",
            "get",
            "-c",
            "4",
            "--sweep",
            "1000,3000",
            "--duration",
            "0.5",
            "-q",
            "--report",
            dir.to_str().unwrap(),
        ],
        LIMIT,
    );
    validate(&dir);
    let charts = render_in_chromium(&dir);
    let charts = charts.as_array().unwrap();
    // Percentile spectrum, latency vs offered load, throughput over time.
    assert_eq!(charts.len(), 3, "{charts:?}");
    let titles: Vec<&str> = charts
        .iter()
        .map(|c| c["title"].as_str().unwrap())
        .collect();
    assert!(
        titles[0].contains("latency by percentile")
            && titles[1].contains("offered load")
            && titles[2].contains("throughput"),
        "{titles:?}"
    );
    for c in charts {
        assert!(
            c["width"].as_f64().unwrap() > 300.0 && c["height"].as_f64().unwrap() > 200.0,
            "{c}"
        );
        assert!(
            c["lines"].as_u64().unwrap() >= 4,
            "2 targets × 2 rates or 2 percentiles: {c}"
        );
        assert_eq!(c["drawn"], c["lines"], "every line has visible length: {c}");
    }
}

#[test]
fn session_preset_writes_hashes_with_ttl_and_reads_them() {
    let server = Server::redis();
    let port = server.port().to_string();
    let tmp = tempfile::tempdir().unwrap();
    ok(
        &[
            "-p",
            &port,
            "--preset",
            "session",
            "--read-ratio",
            "0.5",
            "--key-dist",
            "zipf",
            "-r",
            "1000",
            "-n",
            "2000",
            "-c",
            "5",
            "--ttl-ms",
            "600000",
            "-q",
            "--report",
            tmp.path().to_str().unwrap(),
        ],
        LIMIT,
    );
    let r = report(tmp.path());
    let run = &r["runs"][0];
    assert_eq!(run["errors"], 0);
    assert_eq!(run["requests"], 2000);
    let reads = run["per_op"][0]["latency"]["count"].as_u64().unwrap();
    let writes = run["per_op"][1]["latency"]["count"].as_u64().unwrap();
    assert_eq!(reads + writes, 2000);
    assert!((800..=1200).contains(&reads), "about half reads: {reads}");
    for file in ["report.md", "report.html"] {
        let text = std::fs::read_to_string(tmp.path().join(file)).unwrap();
        assert!(text.contains(&format!(" read: {reads} requests")), "{file}");
        assert!(
            text.contains(&format!(" write: {writes} requests")),
            "{file}"
        );
    }
    let mut c = server.client();
    let keys = c.call(["KEYS", "session:*"]).unwrap();
    let keys = keys.as_array().unwrap();
    assert!(!keys.is_empty() && keys.len() < 1000);
    for k in keys.iter().take(20) {
        let k = k.as_text().unwrap();
        assert_eq!(c.call(["HLEN", &k]).unwrap(), Frame::Integer(5));
        let ttl = c.call(["PTTL", &k]).unwrap().as_int().unwrap();
        assert!(ttl > 0 && ttl <= 600_000, "{k}: {ttl}");
    }
}

#[test]
fn ratelimit_presets_count_hits_with_a_window() {
    let server = Server::redis();
    let port = server.port().to_string();
    for mode in ["incr", "script"] {
        server.client().call(["FLUSHALL"]).unwrap();
        let out = ok(
            &[
                "-p",
                &port,
                "--preset",
                "ratelimit",
                "--ratelimit-mode",
                mode,
                "-r",
                "50",
                "-n",
                "1000",
                "-c",
                "4",
                "--window-ms",
                "30000",
                "--csv",
            ],
            LIMIT,
        );
        let rows = common::csv(&out);
        assert_eq!(rows[0].num("errors"), 0.0, "{mode}: {out}");
        let mut c = server.client();
        let keys = c.call(["KEYS", "ratelimit:*"]).unwrap();
        let mut total = 0;
        for k in keys.as_array().unwrap() {
            let k = k.as_text().unwrap();
            total += c
                .call(["GET", &k])
                .unwrap()
                .as_text()
                .unwrap()
                .parse::<i64>()
                .unwrap();
            let ttl = c.call(["PTTL", &k]).unwrap().as_int().unwrap();
            assert!(ttl > 0 && ttl <= 30_000, "{mode} {k}: {ttl}");
        }
        assert_eq!(total, 1000, "{mode}: every hit counted once");
    }
}
