//! The expiry report and calendar of `wrapsign inventory`, checked from outside:
//! the HTML page rendered by a real browser (headless Chromium: the DOM it
//! builds, and screenshots at desktop and phone widths, in dark mode and
//! printed, kept under target/expiry-report/), the .ics file parsed back by an
//! iCalendar crate; and what the inventory claims: `unchecked` for what it could
//! not open, password sources given on the command line, owner and notes in
//! every format, self-signed leaves classified by their extensions.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::{self, repo, run, run_with, Run};

const AT: &str = "--at=2026-11-07";
const SAMPLE: &str = "--config=samples/wrapsign.toml";

fn inventory(args: &[&str]) -> Run {
    let mut a = vec!["inventory", AT];
    a.extend(args);
    let r = run(&a);
    assert_eq!(r.code, 0, "{}", r.stderr);
    r
}

/// The sample inventory's rows, from the JSON renderer (the reference the page
/// and the calendar are compared with).
fn json_items(args: &[&str]) -> Vec<serde_json::Value> {
    let mut a = args.to_vec();
    a.push("--format=json");
    inventory(&a).json()["items"].as_array().unwrap().clone()
}

fn artifacts() -> PathBuf {
    let d = repo("target/expiry-report");
    std::fs::create_dir_all(&d).unwrap();
    d
}

// ---------------------------------------------------------------- a tiny DOM reader

/// Start tags of the serialised DOM: (name, attributes). Chromium serialises
/// every attribute as name="value" with &, <, > and " escaped.
fn tags(html: &str) -> Vec<(String, BTreeMap<String, String>)> {
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(i) = rest.find('<') {
        rest = &rest[i + 1..];
        if rest.starts_with('/') || rest.starts_with('!') {
            continue;
        }
        let end = rest.find('>').unwrap_or(rest.len());
        let tag = &rest[..end];
        let name: String = tag
            .chars()
            .take_while(|c| !c.is_whitespace() && *c != '/')
            .collect();
        let mut attrs = BTreeMap::new();
        let mut t = &tag[name.len()..];
        while let Some(eq) = t.find("=\"") {
            let key = t[..eq].trim().to_string();
            let after = &t[eq + 2..];
            let close = after.find('"').unwrap_or(after.len());
            attrs.insert(key, unescape(&after[..close]));
            t = &after[(close + 1).min(after.len())..];
        }
        out.push((name, attrs));
    }
    out
}

fn unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&nbsp;", "\u{a0}")
        .replace("&amp;", "&")
}

/// The text of an element's markup, tags removed.
fn text_of(markup: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for c in markup.chars() {
        match c {
            '<' => in_tag = true,
            '>' => {
                in_tag = false;
                out.push(' ');
            }
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    unescape(&out)
}

fn chromium() -> Option<&'static str> {
    ["chromium", "chromium-browser"]
        .into_iter()
        .find(|c| {
            Command::new("sh")
                .arg("-c")
                .arg(format!("command -v {c}"))
                .output()
                .is_ok_and(|o| o.status.success())
        })
        .or_else(|| {
            support::tool("chromium");
            None
        })
}

/// Runs headless Chromium (no network, a fresh profile) on a local file.
fn browse(browser: &str, page: &Path, extra: &[&str]) -> std::process::Output {
    let profile = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(browser);
    cmd.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--no-first-run",
        "--hide-scrollbars",
    ])
    .arg(format!("--user-data-dir={}", profile.path().display()))
    .args(extra)
    .arg(format!("file://{}", page.display()));
    let out = cmd.output().expect("run chromium");
    assert!(
        out.status.success(),
        "chromium {extra:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Width and height from a PNG's IHDR.
fn png_size(p: &Path) -> (u32, u32) {
    let d = std::fs::read(p).unwrap();
    assert!(
        d.starts_with(b"\x89PNG\r\n\x1a\n"),
        "{} is not a PNG",
        p.display()
    );
    let be = |i: usize| u32::from_be_bytes([d[i], d[i + 1], d[i + 2], d[i + 3]]);
    (be(16), be(20))
}

#[test]
fn the_html_report_in_a_real_browser() {
    let out = artifacts();
    let page = out.join("expiry.html");
    let p = format!("--output={}", page.display());
    inventory(&[SAMPLE, "--format=html", &p]);
    let html = std::fs::read_to_string(&page).unwrap();
    // Self-contained: no script, nothing fetched from anywhere.
    assert!(!html.to_ascii_lowercase().contains("<script"));
    for attr in ["src=\"http", "href=\"http", "url(http", "@import"] {
        assert!(!html.contains(attr), "{attr}");
    }
    assert!(html.contains("Content-Security-Policy"));
    assert!(html.contains("prefers-color-scheme:dark"));
    assert!(html.contains("@media print"));

    let items = json_items(&[SAMPLE]);
    let Some(browser) = chromium() else { return };
    let dom = String::from_utf8(browse(browser, &page, &["--dump-dom"]).stdout).unwrap();
    std::fs::write(out.join("expiry.dom.html"), &dom).unwrap();
    let t = tags(&dom);

    // The table: one row per item, in order, with its subject, date and status.
    let rows: Vec<&BTreeMap<String, String>> = t
        .iter()
        .filter(|(n, a)| n == "tr" && a.get("id").is_some_and(|i| i.starts_with("item-")))
        .map(|(_, a)| a)
        .collect();
    assert_eq!(rows.len(), items.len());
    for (i, item) in items.iter().enumerate() {
        let id = format!("id=\"item-{}\"", i + 1);
        let start = dom.find(&id).unwrap();
        let end = start + dom[start..].find("</tr>").unwrap();
        let text = text_of(&dom[start..end]);
        let subject = item["subject"].as_str().unwrap();
        let want = if subject.is_empty() {
            item["file"].as_str().unwrap()
        } else {
            subject
        };
        assert!(text.contains(want), "row {i}: {want} not in {text}");
        let date = item["not_after"].as_str().map(|s| &s[..10]).unwrap_or("-");
        assert!(text.contains(date), "row {i}: {date} not in {text}");
        let status = item["status"].as_str().unwrap();
        assert!(text.contains(status), "row {i}: {status} not in {text}");
        assert_eq!(rows[i]["data-status"], status);
    }

    // The timeline: one mark per item, on the right side of the today line.
    let today_x: f64 = t
        .iter()
        .find(|(n, a)| n == "line" && a.get("class").is_some_and(|c| c == "today"))
        .map(|(_, a)| a["x1"].parse().unwrap())
        .expect("a today line");
    let marks: Vec<&BTreeMap<String, String>> = t
        .iter()
        .filter(|(n, a)| n == "g" && a.contains_key("data-item"))
        .map(|(_, a)| a)
        .collect();
    assert_eq!(marks.len(), items.len());
    let at = "2026-11-07T00:00:00Z";
    let mut seen = BTreeSet::new();
    for m in &marks {
        let i: usize = m["data-item"].parse().unwrap();
        assert!(seen.insert(i), "two marks for item {i}");
        let item = &items[i - 1];
        assert_eq!(m["data-status"], item["status"].as_str().unwrap());
        let tr = &m["transform"];
        let x: f64 = tr
            .trim_start_matches("translate(")
            .split([' ', ','])
            .next()
            .unwrap()
            .parse()
            .unwrap();
        match item["not_after"].as_str() {
            // RFC 3339 in UTC compares as text.
            Some(na) if na < at => {
                assert!(x < today_x, "item {i} expired {na} but drawn at {x}");
                assert_eq!(m["data-zone"], "expired");
            }
            Some(na) => {
                assert!(x > today_x, "item {i} expires {na} but drawn at {x}");
                assert_eq!(m["data-expires"], &na[..10]);
            }
            None => assert_eq!(m["data-zone"], "undated"),
        }
    }
    // The sample has an expired item, so both sides are exercised.
    assert!(marks.iter().any(|m| m["data-zone"] == "expired"));

    // Screenshots kept as artifacts: desktop, phone, dark mode; and a print.
    for (name, size, extra) in [
        ("desktop.png", (1280, 1800), None),
        ("phone.png", (390, 2400), None),
        ("desktop-dark.png", (1280, 1200), Some("--force-dark-mode")),
    ] {
        let shot = out.join(name);
        let _ = std::fs::remove_file(&shot);
        let mut a = vec![
            format!("--window-size={},{}", size.0, size.1),
            format!("--screenshot={}", shot.display()),
        ];
        a.extend(extra.map(String::from));
        let a: Vec<&str> = a.iter().map(String::as_str).collect();
        browse(browser, &page, &a);
        assert_eq!(png_size(&shot), size, "{name}");
    }
    let pdf = out.join("printed.pdf");
    let _ = std::fs::remove_file(&pdf);
    browse(
        browser,
        &page,
        &[
            &format!("--print-to-pdf={}", pdf.display()),
            "--no-pdf-header-footer",
        ],
    );
    let bytes = std::fs::read(&pdf).unwrap();
    assert!(bytes.starts_with(b"%PDF-"));
    eprintln!("expiry report artifacts: {}", out.display());
}

// ---------------------------------------------------------------- the calendar

fn ics(at: &str) -> String {
    let r = run(&["inventory", at, SAMPLE, "--format=ics"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    r.stdout
}

#[test]
fn the_calendar_parses_back_with_alarms_and_stable_uids() {
    use icalendar::parser::{read_calendar, unfold};
    let text = ics(AT);
    assert!(text.ends_with("\r\n"));
    for line in text.split("\r\n") {
        assert!(line.len() <= 75, "a line over 75 octets: {line}");
    }
    let unfolded = unfold(&text);
    let cal = read_calendar(&unfolded).expect("a valid iCalendar file");
    let prop = |c: &icalendar::parser::Component, n: &str| {
        c.find_prop(n).map(|p| p.val.as_str().to_string())
    };
    assert!(cal
        .properties
        .iter()
        .any(|p| p.name == "VERSION" && p.val == "2.0"));
    let events: Vec<_> = cal
        .components
        .iter()
        .filter(|c| c.name == "VEVENT")
        .collect();
    let items = json_items(&[SAMPLE]);
    let dated: Vec<&serde_json::Value> =
        items.iter().filter(|i| !i["not_after"].is_null()).collect();
    assert_eq!(events.len(), dated.len());
    let mut uids = BTreeSet::new();
    for (e, item) in events.iter().zip(&dated) {
        let uid = prop(e, "UID").expect("UID");
        assert!(uids.insert(uid), "duplicate UID");
        assert!(prop(e, "DTSTAMP").is_some());
        let day = item["not_after"].as_str().unwrap()[..10].replace('-', "");
        assert_eq!(prop(e, "DTSTART").unwrap(), day);
        let summary = prop(e, "SUMMARY").unwrap();
        assert!(
            summary.contains(item["subject"].as_str().unwrap()),
            "{summary}"
        );
        // Two alarms: the kind's warning and final-reminder days.
        let kind = prop(e, "CATEGORIES").unwrap();
        let want: BTreeSet<String> = match kind.trim_start_matches("wrapsign,") {
            "ssl" => ["-P45D", "-P10D"],
            _ => ["-P30D", "-P10D"],
        }
        .iter()
        .map(|s| s.to_string())
        .collect();
        let alarms: Vec<_> = e.components.iter().filter(|c| c.name == "VALARM").collect();
        assert_eq!(alarms.len(), 2);
        let triggers: BTreeSet<String> = alarms.iter().filter_map(|a| prop(a, "TRIGGER")).collect();
        assert_eq!(triggers, want, "{kind}");
        for a in alarms {
            assert_eq!(prop(a, "ACTION").as_deref(), Some("DISPLAY"));
            assert!(prop(a, "DESCRIPTION").is_some());
        }
    }
    // The typed reader agrees on the dates.
    let typed: icalendar::Calendar = text.parse().expect("typed parse");
    let starts = typed
        .components
        .iter()
        .filter_map(|c| match c {
            icalendar::CalendarComponent::Event(e) => {
                use icalendar::Component;
                e.get_start()
            }
            _ => None,
        })
        .count();
    assert_eq!(starts, dated.len());
    // Re-exported later (another day, other statuses): the same UIDs, so a
    // calendar updates its events instead of adding new ones.
    let later = ics("--at=2027-01-15");
    let later = unfold(&later);
    let cal2 = read_calendar(&later).unwrap();
    let uids2: BTreeSet<String> = cal2
        .components
        .iter()
        .filter_map(|c| prop(c, "UID"))
        .collect();
    assert_eq!(uids, uids2);
    assert_eq!(text, ics(AT), "the same instant gives the same file");
}

// ---------------------------------------------------------------- what the inventory claims

fn config(dir: &Path, text: &str) -> PathBuf {
    let root = repo("").display().to_string();
    let p = dir.join("wrapsign.toml");
    std::fs::write(&p, text.replace("@/", &format!("{root}/"))).unwrap();
    p
}

#[test]
fn owner_and_notes_appear_in_every_format() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(
        dir.path(),
        "trust_roots = [\"@/signing/ca/test-root-ca.pem\"]\n[[certificate]]\nkind = \"apns\"\nfile = \"@/signing/inventory/apns-dev.p12\"\npassword = \"file:@/signing/inventory/p12.pass\"\nowner = \"Mobile team <mobile@example.test>\"\nnotes = \"Renew with the shared Apple ID, then upload to the push server\"\n",
    );
    let c = format!("--config={}", cfg.display());
    let owner = "Mobile team <mobile@example.test>";
    let notes = "Renew with the shared Apple ID, then upload to the push server";
    let human = inventory(&[&c]).stdout;
    // The terminal table clips long cells; the notes are printed in full below it.
    assert!(
        human.contains("OWNER") && human.contains(&owner[..30]) && human.contains(notes),
        "{human}"
    );
    let j = inventory(&[&c, "--format=json"]).json();
    assert_eq!(j["items"][0]["owner"], owner);
    assert_eq!(j["items"][0]["notes"], notes);
    let csv = inventory(&[&c, "--format=csv"]).stdout;
    let header = csv.lines().next().unwrap();
    assert!(header.ends_with(",owner,notes"), "{header}");
    assert!(csv.contains(&format!("\"{notes}\"")) || csv.contains(notes));
    let html = inventory(&[&c, "--format=html"]).stdout;
    assert!(html.contains("Mobile team &lt;mobile@example.test&gt;"));
    assert!(html.contains(notes));
    let cal = icalendar::parser::unfold(&inventory(&[&c, "--format=ics"]).stdout);
    assert!(
        cal.contains("Owner: Mobile team <mobile@example.test>"),
        "{cal}"
    );
    assert!(cal.contains("Notes: Renew with the shared Apple ID\\, then upload"));
}

#[test]
fn what_could_not_be_opened_is_unchecked_never_ok() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        repo("signing/inventory/alice.p12"),
        dir.path().join("alice.p12"),
    )
    .unwrap();
    std::fs::copy(
        repo("signing/android/release.jks"),
        dir.path().join("release.jks"),
    )
    .unwrap();
    let d = dir.path().to_str().unwrap();
    let by_file = |items: &[serde_json::Value], f: &str| {
        items
            .iter()
            .find(|i| i["file"].as_str().unwrap().ends_with(f))
            .unwrap_or_else(|| panic!("{f} not in {items:?}"))
            .clone()
    };
    // No password given: neither file could be opened.
    let items = json_items(&[d]);
    for f in ["alice.p12", "release.jks"] {
        assert_eq!(by_file(&items, f)["status"], "unchecked", "{f}");
    }
    let human = inventory(&[d]).stdout;
    assert!(human.contains("unchecked"), "{human}");
    // Given on the command line: opened, and the password column says from where.
    let pass = std::fs::read_to_string(repo("signing/ios/p12.pass")).unwrap();
    let r = run_with(
        &[
            "inventory",
            AT,
            d,
            "--format=json",
            "--cert-pass=file:signing/inventory/p12.pass",
            "--ks-pass=env:WS_KS_PASS",
        ],
        &[("WS_KS_PASS", pass.trim())],
        None,
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let items = r.json()["items"].as_array().unwrap().clone();
    let alice = by_file(&items, "alice.p12");
    assert_ne!(alice["status"], "unchecked");
    assert!(alice["password_source"]
        .as_str()
        .unwrap()
        .contains("--cert-pass file:signing/inventory/p12.pass"));
    let release = by_file(&items, "release.jks");
    assert_ne!(release["status"], "unchecked");
    assert!(release["password_source"]
        .as_str()
        .unwrap()
        .contains("--ks-pass env:WS_KS_PASS"));
    assert!(!r.stdout.contains(pass.trim()));
}

#[test]
fn a_self_signed_leaf_is_classified_by_its_extensions() {
    if !support::tool("openssl") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let make = |name: &str, ext: &[&str]| {
        let mut a = vec![
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-days",
            "3650",
            "-keyout",
            "k.pem",
        ];
        let subj = format!("/CN={name}");
        let out = format!("{name}.pem");
        a.extend(["-subj", &subj, "-out", &out]);
        for e in ext {
            a.extend(["-addext", e]);
        }
        let o = Command::new("openssl")
            .args(&a)
            .current_dir(dir.path())
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    };
    // openssl req -x509 marks it CA:TRUE; its key usage says it signs no certificates.
    make(
        "server.example.test",
        &[
            "keyUsage=critical,digitalSignature",
            "extendedKeyUsage=serverAuth",
        ],
    );
    // No key usage, but only end-entity purposes.
    make("client.example.test", &["extendedKeyUsage=clientAuth"]);
    // A real self-signed CA.
    make("Example Root", &["keyUsage=critical,keyCertSign,cRLSign"]);
    std::fs::remove_file(dir.path().join("k.pem")).unwrap();
    let items = json_items(&[dir.path().to_str().unwrap()]);
    let kind = |cn: &str| {
        items
            .iter()
            .find(|i| i["subject"] == cn)
            .unwrap_or_else(|| panic!("{cn}: {items:?}"))["kind"]
            .clone()
    };
    assert_eq!(kind("server.example.test"), "ssl");
    assert_eq!(kind("client.example.test"), "pki-user");
    assert_eq!(kind("Example Root"), "ca");
}
