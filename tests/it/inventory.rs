//! The signing inventory: wrapsign.toml (errors naming lines, levels, thresholds),
//! every finding name of the inventory with its exit code, `wrapsign inventory` in
//! each format, bulk device bundles, passwords never printed, directory scans.

use crate::support as common;

use std::io::Write;
use std::path::{Path, PathBuf};

use common::{repo, run, run_with, Run};

const AT: &str = "--at=2026-11-28";
const SAMPLE: &str = "--config=samples/wrapsign.toml";

/// A config in a temp folder, with `@/` standing for the repository root.
fn config(dir: &Path, text: &str) -> PathBuf {
    let root = repo("").display().to_string();
    let p = dir.join("wrapsign.toml");
    std::fs::write(&p, text.replace("@/", &format!("{root}/"))).unwrap();
    p
}

fn verify_config(cfg: &Path, extra: &[&str]) -> Run {
    let c = format!("--config={}", cfg.display());
    let mut a = vec!["verify", "--format=json", AT, c.as_str()];
    a.extend(extra);
    run(&a)
}

fn cert_entry(kind: &str, file: &str, extra: &str) -> String {
    format!("[[certificate]]\nkind = \"{kind}\"\nfile = \"@/{file}\"\n{extra}\n")
}

const ROOT: &str = "trust_roots = [\"@/signing/ca/test-root-ca.pem\"]\n";

#[test]
fn the_sample_inventory_reports_one_of_each_problem() {
    let r = run(&["verify", "--format=json", AT, SAMPLE]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    let mut names = r.names();
    names.sort();
    names.dedup();
    assert_eq!(
        names,
        [
            "apns-topic-mismatch",
            "cert-expired",
            "cert-expiring",
            "cert-hostname-mismatch",
            "chain-cert-expiring",
            "chain-incomplete",
            "chain-out-of-order",
            "duplicate-public-key",
            "renewal-reused-key",
        ]
    );
    let j = r.json();
    let f = |name: &str| {
        j["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["name"] == name)
            .unwrap()
            .clone()
    };
    // [levels] in the config made duplicate-public-key an error.
    assert_eq!(f("duplicate-public-key")["severity"], "error");
    assert_eq!(
        f("chain-incomplete")["details"]["missing_issuer"],
        // As keytool prints it (last RDN first); the name was made as /CN=../O=../C=US.
        "C=US, O=wrapsign test, CN=WRAPSIGN TEST TLS CA 2"
    );
    assert!(f("chain-out-of-order")["file"]
        .as_str()
        .unwrap()
        .ends_with("mdm-out-of-order.pem"));
    assert_eq!(
        f("renewal-reused-key")["details"]["previous_serial"],
        "5101"
    );
    // The APNs facts: topics and environment of each push certificate.
    let items = j["items"].as_array().unwrap();
    let apns: Vec<_> = items
        .iter()
        .filter(|i| i["facts"]["inventory_kind"] == "apns")
        .map(|i| {
            (
                i["file"]
                    .as_str()
                    .unwrap()
                    .rsplit('/')
                    .next()
                    .unwrap()
                    .to_string(),
                i["facts"]["apns_environment"].as_str().unwrap().to_string(),
                i["facts"]["apns_topics"].clone(),
            )
        })
        .collect();
    assert!(apns.contains(&(
        "apns-universal.p12".into(),
        "both".into(),
        serde_json::json!(["com.example.wrapdemo", "com.example.wrapdemo.voip"])
    )));
    assert!(apns.contains(&(
        "apns-dev.p12".into(),
        "development".into(),
        serde_json::json!(["com.example.wrapdemo"])
    )));
    // Command-line levels win over the config's.
    let r = run(&[
        "verify",
        "--format=json",
        AT,
        SAMPLE,
        "--warn=duplicate-public-key",
    ]);
    assert_eq!(f_sev(&r, "duplicate-public-key"), "warning");
}

fn f_sev(r: &Run, name: &str) -> String {
    r.json()["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == name)
        .map(|f| f["severity"].as_str().unwrap().to_string())
        .unwrap_or_default()
}

#[test]
fn verify_without_path_reads_wrapsign_toml_in_the_current_folder() {
    let dir = tempfile::tempdir().unwrap();
    config(
        dir.path(),
        &format!(
            "{ROOT}{}",
            cert_entry("ssl", "signing/inventory/mail-2025.pem", "")
        ),
    );
    let out = std::process::Command::new(common::bin())
        .args(["verify", "--format=json", AT])
        .current_dir(dir.path())
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let j: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(j["findings"][0]["name"], "cert-expired");
    // And nothing to verify without one.
    let empty = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(common::bin())
        .args(["verify", AT])
        .current_dir(empty.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn config_errors_name_the_line_and_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            "# inventory\n\n[[certificate]]\nkind = \"ssl\"\nfile = \"a.pem\"\npasword = \"env:P\"\n",
            "wrapsign.toml:6: unknown key \"pasword\" in [[certificate]]",
        ),
        ("[[certificate]]\nkind = \"sll\"\nfile = \"a.pem\"\n", "wrapsign.toml:2: unknown value \"sll\""),
        ("[levels]\ncert-expired = \"sometimes\"\n", "wrapsign.toml:2: unknown level"),
        ("[thresholds.apns]\nwarn_dayz = 3\n", "wrapsign.toml:2: unknown key \"warn_dayz\" in [thresholds.apns]"),
        ("[[keystore]]\nfile = \"k.jks\"\n\npassword = \"s3cr3t-value\"\n", "wrapsign.toml:4: password:"),
        ("[[app]]\nfile = \"a.ipa\"\ncertificate = \"dist\"\n", "wrapsign.toml:3: no certificate is named \"dist\""),
        ("[[certificate]]\nkind = \"ssl\"\n", "missing key \"file\""),
        ("trust_roots = 3\n", "wrapsign.toml:1:"),
    ];
    for (text, want) in cases {
        let cfg = config(dir.path(), text);
        let r = verify_config(&cfg, &[]);
        assert_eq!(r.code, 2, "{text}");
        assert!(r.stderr.contains(want), "{text}\n=> {}", r.stderr);
        assert!(!r.stderr.contains("s3cr3t-value"), "{}", r.stderr);
        assert!(r.stdout.is_empty());
    }
}

#[test]
fn literal_passwords_in_the_config_are_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(
        dir.path(),
        "[[keystore]]\nfile = \"@/signing/android/release.jks\"\npassword = \"pass:wrapsign-test\"\n",
    );
    let r = verify_config(&cfg, &[]);
    assert_eq!(r.code, 0, "{}", r.stdout);
    assert_eq!(r.names(), ["config-literal-password"]);
    assert!(!r.stdout.contains("wrapsign-test\""));
    let r = verify_config(&cfg, &["--deny-warnings"]);
    assert_eq!(r.code, 1);
}

#[test]
fn each_certificate_finding_alone_with_its_exit_code() {
    let dir = tempfile::tempdir().unwrap();
    // (entries, expected names, exit code)
    let cases: Vec<(String, Vec<&str>, i32)> = vec![
        (cert_entry("ssl", "signing/inventory/mdm-out-of-order.pem", ""), vec!["chain-out-of-order"], 1),
        (cert_entry("ssl", "signing/inventory/gateway-missing-intermediate.pem", ""), vec!["chain-incomplete"], 1),
        (cert_entry("ssl", "signing/inventory/legacy-chain.pem", ""), vec!["chain-cert-expiring"], 0),
        (cert_entry("ca", "signing/inventory/mdm-chain.pem", ""), vec!["cert-kind-mismatch"], 1),
        (cert_entry("apns", "signing/inventory/mdm-chain.pem", ""), vec!["cert-kind-mismatch"], 1),
        (
            cert_entry("ssl", "signing/inventory/mdm-chain.pem", "hosts = [\"mdm.example.test\", \"a.gw.example.test\", \"x.y.gw.example.test\"]"),
            vec!["cert-hostname-mismatch"],
            1,
        ),
        (
            cert_entry("apns", "signing/inventory/apns-universal.p12", "password = \"file:@/signing/inventory/p12.pass\"\ntopic = \"com.example.wrapdemo.voip\""),
            vec![],
            0,
        ),
        (
            cert_entry("apns", "signing/inventory/apns-universal.p12", "password = \"file:@/signing/inventory/p12.pass\"\ntopic = \"com.example.other\""),
            vec!["apns-topic-mismatch"],
            1,
        ),
        (
            cert_entry("distribution", "signing/ios/dist.p12", "password = \"file:@/signing/ios/p12.pass\"\nteam_id = \"WSOTHER002\""),
            vec!["cert-team-mismatch"],
            1,
        ),
        (
            cert_entry("development", "signing/ios/dist.p12", "password = \"file:@/signing/ios/p12.pass\""),
            vec!["cert-kind-mismatch"],
            1,
        ),
        (
            cert_entry("development", "signing/ios/dev.p12", "password = \"file:@/signing/ios/p12.pass\""),
            vec![],
            0,
        ),
        (
            format!(
                "{}{}",
                cert_entry("ssl", "signing/inventory/mdm.pem", ""),
                cert_entry("ssl", "signing/inventory/vpn.pem", "")
            ),
            vec!["duplicate-public-key"],
            0,
        ),
        (
            format!(
                "{}{}",
                cert_entry("ssl", "signing/inventory/mail-2026.pem", ""),
                cert_entry("other", "signing/inventory/mail-2025.pem", "")
            ),
            vec!["cert-expired", "renewal-reused-key"],
            1,
        ),
        // The same certificate in two files is not a shared key.
        (
            format!(
                "{}{}",
                cert_entry("ssl", "signing/inventory/mdm.pem", ""),
                cert_entry("ssl", "signing/inventory/mdm.p12", "password = \"file:@/signing/inventory/p12.pass\"")
            ),
            vec![],
            0,
        ),
        (cert_entry("saml", "signing/inventory/saml-idp.pem", ""), vec![], 0),
        (
            cert_entry("pki-user", "signing/inventory/alice.p12", "password = \"file:@/signing/inventory/p12.pass\""),
            vec![],
            0,
        ),
    ];
    for (entries, want, code) in cases {
        let cfg = config(
            dir.path(),
            &format!(
                "{ROOT}{}{entries}",
                cert_entry("ca", "signing/inventory/tls-ca.pem", "")
            ),
        );
        let r = verify_config(&cfg, &[]);
        let mut names = r.names();
        names.sort();
        names.dedup();
        assert_eq!(names, want, "{entries}\n{}", r.stdout);
        assert_eq!(r.code, code, "{entries}");
    }
}

#[test]
fn apns_warnings_at_30_and_10_days_and_per_kind_thresholds() {
    let dir = tempfile::tempdir().unwrap();
    let entry = cert_entry(
        "apns",
        "signing/inventory/apns-dev.p12",
        "password = \"file:@/signing/inventory/p12.pass\"",
    );
    let cfg = config(dir.path(), &format!("{ROOT}{entry}"));
    // Expires 2026-12-15: 17 days ahead is a warning, 7 days ahead a final reminder.
    let r = verify_config(&cfg, &[]);
    assert_eq!((r.code, r.names()), (0, vec!["cert-expiring".to_string()]));
    let r = run(&[
        "verify",
        "--format=json",
        "--at=2026-12-08",
        &format!("--config={}", cfg.display()),
    ]);
    assert!(r.json()["findings"][0]["message"]
        .as_str()
        .unwrap()
        .contains("(final reminder)"));
    // [thresholds.apns] moves the horizon for push certificates only; the command line wins.
    let cfg = config(
        dir.path(),
        &format!(
            "{ROOT}[thresholds.apns]\nwarn_days = 10\n[thresholds.ssl]\nwarn_days = 400\n{entry}"
        ),
    );
    let r = verify_config(&cfg, &[]);
    assert!(r.names().is_empty(), "{}", r.stdout);
    let r = verify_config(&cfg, &["--warn-days=30"]);
    assert_eq!(r.names(), ["cert-expiring"]);
    let cfg = config(
        dir.path(),
        &format!("{ROOT}[thresholds.apns]\nfail_days = 20\n{entry}"),
    );
    let r = verify_config(&cfg, &[]);
    assert_eq!(
        (r.code, f_sev(&r, "cert-expiring")),
        (1, "error".to_string())
    );
}

// ---------------------------------------------------------------- bulk device bundles

/// The generated device bundle, rewritten: entries renamed by `rename`, credentials
/// text replaced by `creds(original)`.
fn bundle(dir: &Path, rename: &[(&str, &str)], creds: impl Fn(&str) -> String) -> String {
    let src = std::fs::File::open(repo("signing/inventory/devices.zip")).unwrap();
    let mut z = zip::ZipArchive::new(src).unwrap();
    let out = dir.join("devices.zip");
    let mut w = zip::ZipWriter::new(std::fs::File::create(&out).unwrap());
    let opts = zip::write::SimpleFileOptions::default();
    for i in 0..z.len() {
        let mut e = z.by_index(i).unwrap();
        let mut data = Vec::new();
        std::io::Read::read_to_end(&mut e, &mut data).unwrap();
        let name = rename
            .iter()
            .find(|(from, _)| *from == e.name())
            .map(|(_, to)| to.to_string())
            .unwrap_or_else(|| e.name().to_string());
        w.start_file(name, opts).unwrap();
        w.write_all(&data).unwrap();
    }
    w.finish().unwrap();
    let original =
        std::fs::read_to_string(repo("signing/inventory/devices-credentials.txt")).unwrap();
    std::fs::write(dir.join("creds.txt"), creds(&original)).unwrap();
    format!(
        "[[devices]]\nzip = \"{}\"\ncredentials = \"{}\"\n",
        out.display(),
        dir.join("creds.txt").display()
    )
}

const IMEI_A: &str = "356938035643809";
const IMEI_B: &str = "490154203237518";

#[test]
fn bulk_bundle_cases() {
    let dir = tempfile::tempdir().unwrap();
    let check = |entry: String, want: &[&str]| {
        let cfg = config(dir.path(), &entry);
        let r = verify_config(&cfg, &[]);
        let mut names = r.names();
        names.sort();
        names.dedup();
        assert_eq!(names, want, "{}", r.stdout);
        assert_eq!(r.code, if want.is_empty() { 0 } else { 1 });
        // No password of the bundle ever appears.
        for pw in [
            "dev-356938035643809-TEST",
            "dev-490154203237518-TEST",
            "dev-352099001761481-TEST",
        ] {
            assert!(!r.stdout.contains(pw) && !r.stderr.contains(pw));
        }
        r
    };
    check(bundle(dir.path(), &[], |c| c.to_string()), &[]);
    // A missing password line, and a line without its file.
    let r = check(
        bundle(dir.path(), &[], |c| {
            c.lines()
                .filter(|l| !l.starts_with(IMEI_A))
                .chain(["000000000000000.p12=nothing-here"])
                .collect::<Vec<_>>()
                .join("\n")
        }),
        &["bulk-credential-missing", "bulk-credential-orphan"],
    );
    assert!(r.stdout.contains(&format!("{IMEI_A}.p12")));
    // A wrong password, a duplicated line, a line that is not NAME.p12=password.
    check(
        bundle(dir.path(), &[], |c| {
            c.replace(&format!("{IMEI_A}.p12=dev-"), &format!("{IMEI_A}.p12=bad-"))
        }),
        &["bulk-password-wrong"],
    );
    let r = check(
        bundle(dir.path(), &[], |c| {
            format!("{c}{IMEI_B}.p12=another\njust-a-password\n")
        }),
        &["bulk-credential-duplicate", "bulk-credential-orphan"],
    );
    assert!(!r.stdout.contains("just-a-password") && !r.stdout.contains("another"));
    // An IMEI with a wrong check digit (the last digit of a valid one, changed).
    let bad = format!(
        "{}{}",
        &IMEI_B[..14],
        (IMEI_B.as_bytes()[14] - b'0' + 1) % 10
    );
    check(
        bundle(
            dir.path(),
            &[(&format!("{IMEI_B}.p12"), &format!("{bad}.p12"))],
            |c| c.replace(&format!("{IMEI_B}.p12="), &format!("{bad}.p12=")),
        ),
        &["device-id-invalid"],
    );
    // A serial-number name among IMEIs.
    check(
        bundle(
            dir.path(),
            &[(&format!("{IMEI_B}.p12"), "C02XK1ABJG5H.p12")],
            |c| c.replace(&format!("{IMEI_B}.p12="), "C02XK1ABJG5H.p12="),
        ),
        &["device-id-mixed"],
    );
    // A hostile name: the whole bundle is refused, nothing read from it.
    check(
        bundle(
            dir.path(),
            &[(&format!("{IMEI_B}.p12"), "../evil.p12")],
            |c| c.to_string(),
        ),
        &["archive-unsafe"],
    );
}

// ---------------------------------------------------------------- secrets

#[test]
fn passwords_never_appear_in_any_output() {
    let secrets = [
        "wrapsign-key",
        "dev-356938035643809-TEST",
        "dev-490154203237518-TEST",
        "dev-352099001761481-TEST",
        "s3cret-in-env",
    ];
    let dir = tempfile::tempdir().unwrap();
    let mut text = std::fs::read_to_string(repo("samples/wrapsign.toml"))
        .unwrap()
        .replace("\"../", "\"@/")
        .replace("\"file:../", "\"file:@/")
        .replace(
            "file = \"WrapDemo.ipa\"",
            "file = \"@/samples/WrapDemo.ipa\"",
        );
    // One wrong password from the environment, one right one, one literal.
    text.push_str("[[certificate]]\nkind = \"ssl\"\nfile = \"@/signing/inventory/mdm.p12\"\npassword = \"env:WS_TEST_SECRET\"\n");
    text.push_str("[[keystore]]\nfile = \"@/signing/android/keypass.jceks\"\npassword = \"pass:wrapsign-test\"\nkey_password = \"pass:s3cret-in-env\"\n");
    let cfg = config(dir.path(), &text);
    let c = format!("--config={}", cfg.display());
    let mut outputs = Vec::new();
    for f in ["human", "json", "sarif", "junit", "github"] {
        let r = run_with(
            &["verify", AT, &c, &format!("--format={f}"), "--verbose"],
            &[("WS_TEST_SECRET", "s3cret-in-env")],
            None,
        );
        assert!(r.code == 1 || r.code == 2, "{f}: {}", r.stderr);
        outputs.push(r.stdout + &r.stderr);
    }
    for f in ["human", "json", "csv", "html", "ics"] {
        let r = run_with(
            &["inventory", AT, &c, &format!("--format={f}")],
            &[("WS_TEST_SECRET", "s3cret-in-env")],
            None,
        );
        assert_eq!(r.code, 0, "{f}: {}", r.stderr);
        outputs.push(r.stdout + &r.stderr);
    }
    for out in &outputs {
        for s in secrets {
            assert!(!out.contains(s), "{s} leaked:\n{out}");
        }
    }
    // The sources are shown instead.
    assert!(outputs[1].contains("env:WS_TEST_SECRET"));
    assert!(outputs[5].contains("pass:<redacted>"));
}

// ---------------------------------------------------------------- inventory output

fn inventory(format: &str) -> Run {
    let r = run(&["inventory", AT, SAMPLE, &format!("--format={format}")]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    r
}

/// RFC 4180 parser for the test (quoted fields, doubled quotes, CRLF).
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') => quoted = true,
            (false, ',') => row.push(std::mem::take(&mut field)),
            (false, '\r') => {}
            (false, '\n') => {
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
            }
            (false, c) => field.push(c),
        }
    }
    rows
}

#[test]
fn inventory_table_in_every_format() {
    let j = inventory("json").json();
    let items = j["items"].as_array().unwrap();
    assert_eq!(items.len(), 23);
    // Sorted by expiry, soonest first.
    let dates: Vec<&str> = items
        .iter()
        .filter_map(|i| i["not_after"].as_str())
        .collect();
    let mut sorted = dates.clone();
    sorted.sort();
    assert_eq!(dates, sorted);
    assert_eq!(items[0]["status"], "expired");
    assert_eq!(items[0]["days_left"], -300);
    let by_file = |f: &str| {
        items
            .iter()
            .find(|i| i["file"].as_str().unwrap().ends_with(f))
            .unwrap()
    };
    assert_eq!(by_file("apns-dev.p12")["status"], "expiring");
    assert_eq!(
        by_file("apns-dev.p12")["password_source"],
        "file:../signing/inventory/p12.pass"
    );
    assert_eq!(by_file("vpn.pem")["status"], "error");
    assert_eq!(by_file("saml-idp.pem")["status"], "ok");
    assert_eq!(by_file("saml-idp.pem")["kind"], "saml");
    let aliases: Vec<&str> = items
        .iter()
        .filter(|i| i["kind"] == "keystore (JKS)")
        .map(|i| i["team_or_alias"].as_str().unwrap())
        .collect();
    assert_eq!(aliases, ["signing", "release"]);
    let devices = items.iter().filter(|i| i["kind"] == "device").count();
    assert_eq!(devices, 3);
    assert_eq!(j["summary"]["expired"], 1);

    // CSV: a header, one record per item, the same data.
    let csv = inventory("csv").stdout;
    assert!(csv.ends_with("\r\n"));
    let rows = parse_csv(&csv);
    assert_eq!(rows[0][..4], ["expires", "days_left", "status", "kind"]);
    assert_eq!(rows.len(), items.len() + 1);
    for (row, item) in rows[1..].iter().zip(items) {
        assert_eq!(row.len(), rows[0].len());
        assert_eq!(row[2], item["status"].as_str().unwrap());
        assert_eq!(row[4], item["subject"].as_str().unwrap());
        assert_eq!(row[9], item["description"].as_str().unwrap_or(""));
    }
    // Python's csv module as an independent reader.
    if common::tool("python3") {
        let mut child = std::process::Command::new("python3")
            .args([
                "-c",
                "import csv,sys,json; print(json.dumps(list(csv.reader(sys.stdin, strict=True))))",
            ])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(csv.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        let py: Vec<Vec<String>> = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(py, rows);
    }

    let human = inventory("human").stdout;
    assert!(human.contains("EXPIRES     DAYS  STATUS"));
    assert!(
        human.contains("23 items: 14 ok, 2 expiring, 1 expired, 6 error"),
        "{human}"
    );
    // --warn-days changes what is expiring.
    let r = run(&["inventory", AT, SAMPLE, "--format=json", "--warn-days=70"]);
    let j = r.json();
    let uni = j["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["file"].as_str().unwrap().ends_with("apns-universal.p12"))
        .unwrap()
        .clone();
    assert_eq!(uni["status"], "expiring");
}

#[test]
fn sarif_and_junit_stay_valid_with_the_new_findings() {
    let r = run(&["verify", AT, SAMPLE, "--format=sarif"]);
    assert_eq!(r.code, 1);
    let j = r.json();
    let run0 = &j["runs"][0];
    let rules = run0["tool"]["driver"]["rules"].as_array().unwrap();
    let results = run0["results"].as_array().unwrap();
    assert!(!results.is_empty());
    for res in results {
        let idx = res["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(rules[idx]["id"], res["ruleId"]);
        assert!(!res["message"]["text"].as_str().unwrap().is_empty());
        assert!(res["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].is_string());
    }
    for name in [
        "chain-out-of-order",
        "renewal-reused-key",
        "apns-topic-mismatch",
    ] {
        let rule = rules.iter().find(|r| r["id"] == name).unwrap();
        assert!(rule["fullDescription"]["text"].as_str().unwrap().len() > 40);
        assert!(rule["help"]["text"].as_str().unwrap().len() > 20);
    }
    let r = run(&["verify", AT, SAMPLE, "--format=junit"]);
    let doc = roxmltree::Document::parse(&r.stdout).expect("well-formed XML");
    let failed: Vec<_> = doc
        .descendants()
        .filter(|n| n.has_tag_name("failure"))
        .filter_map(|n| n.attribute("type"))
        .collect();
    assert!(failed.contains(&"chain-out-of-order"), "{failed:?}");
    assert!(doc.descendants().any(|n| n.has_tag_name("testcase")
        && n.attribute("name")
            .is_some_and(|f| f.ends_with("devices.zip"))));
}

// ---------------------------------------------------------------- directory scans

#[test]
fn scanning_samples_finds_apps_and_profiles() {
    let r = run(&[
        "verify",
        AT,
        "--format=json",
        "samples",
        "--trust-root=signing/ca/test-root-ca.pem",
    ]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(!r.stderr.contains("panicked"));
    // No progress bar when stderr is not a terminal.
    assert!(r.stderr.is_empty(), "{}", r.stderr);
    let j = r.json();
    let items = j["items"].as_array().unwrap();
    let kinds: std::collections::BTreeSet<&str> =
        items.iter().map(|i| i["kind"].as_str().unwrap()).collect();
    assert!(
        kinds.is_superset(&["bundle", "profile", "scan"].into()),
        "{kinds:?}"
    );
    let apps: std::collections::BTreeSet<&str> = items
        .iter()
        .filter(|i| i["kind"] == "bundle")
        .map(|i| i["file"].as_str().unwrap())
        .collect();
    assert_eq!(apps.len(), 4, "{apps:?}");
    let mut names = r.names();
    names.sort();
    names.dedup();
    // The APKs in samples/android are checked as if named: the broken ones fail.
    assert_eq!(
        names,
        [
            "apk-misaligned",
            "apk-page-misaligned",
            "apk-scheme-required",
            "apk-too-many-signers",
            "apk-unsigned",
            "app-unsigned",
            "bundle-id-mismatch",
            "entitlement-not-allowed"
        ]
    );
}

#[test]
fn scanning_signing_material_finds_every_kind() {
    let r = run(&[
        "verify",
        AT,
        "--format=json",
        "signing/inventory",
        "signing/ios",
        "--trust-root=signing/ca/test-root-ca.pem",
        "--cert-pass=file:signing/ios/p12.pass",
    ]);
    assert!(r.code == 1, "{}", r.stderr);
    let j = r.json();
    let items = j["items"].as_array().unwrap();
    let kinds: std::collections::BTreeSet<&str> = items
        .iter()
        .filter_map(|i| i["facts"]["inventory_kind"].as_str())
        .collect();
    assert!(
        // A SAML signing certificate is a plain self-signed one: only wrapsign.toml can say
        // it is SAML, so the scan calls it "other".
        kinds.is_superset(
            &[
                "distribution",
                "development",
                "apns",
                "ssl",
                "ca",
                "pki-user",
                "other"
            ]
            .into()
        ),
        "{kinds:?}"
    );
    assert!(items.iter().any(|i| i["kind"] == "device-certificate"));
    let names = r.names();
    for n in [
        "chain-out-of-order",
        "chain-incomplete",
        "duplicate-public-key",
        "renewal-reused-key",
    ] {
        assert!(names.iter().any(|x| x == n), "{n} not in {names:?}");
    }
}

#[test]
fn unreadable_files_in_a_scan_are_warnings_named_ones_are_fatal() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        repo("signing/inventory/mdm-chain.pem"),
        dir.path().join("ok.pem"),
    )
    .unwrap();
    std::fs::write(dir.path().join("notes.txt"), "hello").unwrap();
    let mut broken = std::fs::read(repo("signing/ios/dist.p12")).unwrap();
    broken.truncate(broken.len() / 2);
    std::fs::write(dir.path().join("cut.p12"), &broken).unwrap();
    std::fs::write(
        dir.path().join("locked.p12"),
        std::fs::read(repo("signing/inventory/alice.p12")).unwrap(),
    )
    .unwrap();
    let d = dir.path().display().to_string();
    let r = run(&[
        "verify",
        AT,
        "--format=json",
        &d,
        "--trust-root=signing/ca/test-root-ca.pem",
    ]);
    assert_eq!(r.code, 0, "{}", r.stdout);
    let j = r.json();
    // One skipped line each: the cut file is unreadable, no password opens the locked one.
    let warnings = |name: &str| -> Vec<String> {
        j["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["name"] == name && f["severity"] == "warning")
            .map(|f| {
                f["file"]
                    .as_str()
                    .unwrap()
                    .rsplit('/')
                    .next()
                    .unwrap()
                    .to_string()
            })
            .collect()
    };
    assert_eq!(warnings("input-unreadable"), ["cut.p12"]);
    assert_eq!(warnings("password-wrong"), ["locked.p12"]);
    assert_eq!(j["summary"]["skipped"], 2);
    let scan = j["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["kind"] == "scan")
        .unwrap()
        .clone();
    assert_eq!(scan["facts"]["skipped_files"], 1);
    // The same truncated file named explicitly is fatal.
    let cut = dir.path().join("cut.p12").display().to_string();
    assert_eq!(run(&["verify", AT, &cut, "--cert-pass=pass:x"]).code, 2);
}

#[test]
fn scanning_the_conformance_data_completes() {
    let Some(dir) = common::conformance("") else {
        return;
    };
    let d = dir.display().to_string();
    let r = run(&["verify", AT, "--format=json", &d]);
    assert!(r.code == 1 || r.code == 2, "{}\n{}", r.code, r.stderr);
    assert!(!r.stderr.contains("panicked"));
    let j = r.json();
    // Exit 2 only for apps that are unreadable when named too (a broken app is
    // never skipped: a device refuses it).
    for f in j["findings"].as_array().unwrap() {
        if f["severity"] == "error" && f["name"] == "input-unreadable" {
            let file = f["file"].as_str().unwrap();
            assert!(file.ends_with(".ipa") || file.ends_with(".apk"), "{f:#}");
            assert_eq!(
                run(&["verify", AT, "--format=json", file]).code,
                2,
                "{file}"
            );
        }
    }
    let kinds: std::collections::BTreeSet<&str> = j["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["kind"].as_str().unwrap())
        .collect();
    // Real Apple profiles, certificates, keystores and apps (APKs and IPAs).
    assert!(
        kinds.is_superset(&["profile", "certificate", "keystore-entry", "apk", "bundle"].into()),
        "{kinds:?}"
    );
}

#[test]
fn an_android_app_row_shows_its_signing_key() {
    let dir = tempfile::tempdir().unwrap();
    // Enough of an APK to be recognised as one; its signature is `wrapsign verify APK`'s job.
    let apk = dir.path().join("app.apk");
    let mut w = zip::ZipWriter::new(std::fs::File::create(&apk).unwrap());
    w.start_file(
        "AndroidManifest.xml",
        zip::write::SimpleFileOptions::default(),
    )
    .unwrap();
    w.write_all(b"\x03\x00\x08\x00").unwrap();
    w.finish().unwrap();
    let cfg = config(
        dir.path(),
        &format!(
            "[[keystore]]\nname = \"enterprise\"\nfile = \"@/signing/android/multi.jceks\"\npassword = \"file:@/signing/ios/p12.pass\"\n[[app]]\nfile = \"{}\"\nkeystore = \"enterprise\"\nalias = \"legacy\"\n",
            apk.display()
        ),
    );
    let c = format!("--config={}", cfg.display());
    let r = run(&["inventory", AT, &c, "--format=json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let j = r.json();
    let app = j["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["kind"] == "app")
        .unwrap()
        .clone();
    assert_eq!(app["team_or_alias"], "legacy");
    assert_eq!(app["not_after"], "2021-12-29T00:00:00Z");
    assert_eq!(app["status"], "expired");
}
