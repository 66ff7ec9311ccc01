//! `wrapsign.toml`: the signing inventory as a file. Parsed with the `toml`
//! crate keeping spans, so every error names its line
//! (`wrapsign.toml:12: unknown key "pasword" in [[certificate]]`). Paths, including
//! `file:` password sources, are relative to the file.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

use super::bulk::{Credentials, IdType};
use super::{
    AppSpec, CertClass, CertSpec, DevicesSpec, Entry, Inventory, KeystoreSpec, Origin, Password,
    ProfileSpec, Threshold, Thresholds, What,
};
use crate::android::keystore::StoreType;
use crate::diag::{Code, Finding, Level};
use crate::secret::PasswordSpec;

/// The file `wrapsign verify` and `wrapsign inventory` look for in the current folder.
pub const DEFAULT_NAME: &str = "wrapsign.toml";

/// Config files are small; a bigger one is a mistake, not an inventory.
const MAX_CONFIG_BYTES: u64 = 4 << 20;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    #[serde(default)]
    trust_roots: Vec<Spanned<String>>,
    #[serde(default)]
    thresholds: Option<RawThresholds>,
    #[serde(default)]
    levels: BTreeMap<Spanned<String>, Spanned<String>>,
    #[serde(default)]
    certificate: Vec<Spanned<RawCert>>,
    #[serde(default)]
    profile: Vec<Spanned<RawProfile>>,
    #[serde(default)]
    keystore: Vec<Spanned<RawKeystore>>,
    #[serde(default)]
    app: Vec<Spanned<RawApp>>,
    #[serde(default)]
    devices: Vec<Spanned<RawDevices>>,
}

#[derive(Deserialize, Default, Clone, Copy)]
#[serde(deny_unknown_fields)]
struct RawThreshold {
    warn_days: Option<i64>,
    fail_days: Option<i64>,
    remind_days: Option<i64>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawThresholds {
    warn_days: Option<i64>,
    fail_days: Option<i64>,
    remind_days: Option<i64>,
    distribution: Option<RawThreshold>,
    development: Option<RawThreshold>,
    apns: Option<RawThreshold>,
    ssl: Option<RawThreshold>,
    saml: Option<RawThreshold>,
    ca: Option<RawThreshold>,
    #[serde(rename = "pki-user")]
    pki_user: Option<RawThreshold>,
    other: Option<RawThreshold>,
    profile: Option<RawThreshold>,
    keystore: Option<RawThreshold>,
    devices: Option<RawThreshold>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCert {
    name: Option<String>,
    /// What the certificate is for; detected from it when absent.
    kind: Option<CertClass>,
    file: Spanned<String>,
    password: Option<Spanned<String>>,
    key: Option<Spanned<String>>,
    description: Option<String>,
    /// Who renews it (a person, team or mailbox): shown in every inventory format.
    owner: Option<String>,
    notes: Option<String>,
    team_id: Option<String>,
    topic: Option<String>,
    #[serde(default)]
    hosts: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProfile {
    name: Option<String>,
    file: Spanned<String>,
    description: Option<String>,
    /// Who renews it (a person, team or mailbox): shown in every inventory format.
    owner: Option<String>,
    notes: Option<String>,
    /// A certificate entry (by name) that must be able to sign with this profile.
    certificate: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawKeystore {
    name: Option<String>,
    file: Spanned<String>,
    password: Option<Spanned<String>>,
    key_password: Option<Spanned<String>>,
    #[serde(default)]
    aliases: Vec<String>,
    #[serde(rename = "type")]
    store_type: Option<StoreTypeName>,
    description: Option<String>,
    /// Who renews it (a person, team or mailbox): shown in every inventory format.
    owner: Option<String>,
    notes: Option<String>,
}

#[derive(Deserialize, Clone, Copy)]
#[serde(rename_all = "lowercase")]
enum StoreTypeName {
    Jks,
    Jceks,
    Pkcs12,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawApp {
    name: Option<String>,
    file: Spanned<String>,
    description: Option<String>,
    /// Who renews it (a person, team or mailbox): shown in every inventory format.
    owner: Option<String>,
    notes: Option<String>,
    certificate: Option<Spanned<String>>,
    #[serde(default)]
    profiles: Vec<Spanned<String>>,
    keystore: Option<Spanned<String>>,
    alias: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDevices {
    name: Option<String>,
    zip: Spanned<String>,
    /// A credentials file beside the zip; absent: the one inside the zip.
    credentials: Option<Spanned<String>>,
    /// The credentials entry inside the zip (default: its only text file, else credential.txt).
    credentials_name: Option<Spanned<String>>,
    identity_type: Option<IdType>,
    description: Option<String>,
    owner: Option<String>,
    notes: Option<String>,
}

/// A configuration error: the file, the line, and what is wrong. Never contains
/// a password value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(pub String);

/// The config named by `--config`, or `./wrapsign.toml` when it exists.
pub fn locate(explicit: Option<&Path>) -> Option<PathBuf> {
    match explicit {
        Some(p) => Some(p.to_path_buf()),
        None => {
            let p = PathBuf::from(DEFAULT_NAME);
            p.is_file().then_some(p)
        }
    }
}

/// Reads and validates a config file.
pub fn load(path: &Path) -> Result<Inventory, ConfigError> {
    let shown = path.display().to_string();
    let meta =
        std::fs::metadata(path).map_err(|e| ConfigError(format!("cannot read {shown}: {e}")))?;
    if meta.len() > MAX_CONFIG_BYTES {
        return Err(ConfigError(format!(
            "{shown} is {} bytes; a wrapsign.toml is at most {MAX_CONFIG_BYTES}",
            meta.len()
        )));
    }
    let text = std::fs::read_to_string(path)
        .map_err(|e| ConfigError(format!("cannot read {shown}: {e}")))?;
    let base = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    parse(&shown, &text, base)
}

/// 1-based line of a byte offset.
fn line_of(text: &str, offset: usize) -> usize {
    text.get(..offset.min(text.len()))
        .unwrap_or("")
        .bytes()
        .filter(|b| *b == b'\n')
        .count()
        + 1
}

/// The table header (`[[certificate]]`, `[thresholds.apns]`) in force at a line.
fn table_at(text: &str, line: usize) -> Option<String> {
    text.lines()
        .take(line)
        .filter(|l| l.trim_start().starts_with('['))
        .last()
        .map(|l| {
            let l = l.trim();
            // Drop a trailing comment.
            let end = l.rfind(']').map(|i| i + 1).unwrap_or(l.len());
            l[..end].to_string()
        })
}

/// Rewrites serde's wording into the config's: keys, not fields.
fn explain(message: &str, table: Option<&str>) -> String {
    let m = message.trim();
    let within = table.map(|t| format!(" in {t}")).unwrap_or_default();
    if let Some(rest) = m.strip_prefix("unknown field `") {
        let (key, tail) = rest.split_once('`').unwrap_or((rest, ""));
        let expected = tail
            .split_once("expected ")
            .map(|(_, e)| format!(" (expected {})", e.replace('`', "")))
            .unwrap_or_default();
        return format!("unknown key \"{key}\"{within}{expected}");
    }
    if let Some(rest) = m.strip_prefix("unknown variant `") {
        let (value, tail) = rest.split_once('`').unwrap_or((rest, ""));
        let expected = tail
            .split_once("expected ")
            .map(|(_, e)| format!(" (expected {})", e.replace('`', "")))
            .unwrap_or_default();
        return format!("unknown value \"{value}\"{within}{expected}");
    }
    if let Some(rest) = m.strip_prefix("missing field `") {
        let key = rest.split('`').next().unwrap_or(rest);
        return format!("missing key \"{key}\"{within}");
    }
    format!("{m}{within}")
}

struct Ctx<'a> {
    shown: &'a str,
    text: &'a str,
    base: &'a Path,
}

impl Ctx<'_> {
    fn at<T>(&self, s: &Spanned<T>) -> usize {
        line_of(self.text, s.span().start)
    }
    fn err<T>(&self, s: &Spanned<T>, msg: impl std::fmt::Display) -> ConfigError {
        ConfigError(format!("{}:{}: {msg}", self.shown, self.at(s)))
    }
    fn path(&self, s: &Spanned<String>) -> Result<PathBuf, ConfigError> {
        if s.get_ref().trim().is_empty() {
            return Err(self.err(s, "empty path"));
        }
        Ok(clean(&self.base.join(s.get_ref())))
    }
    /// A password SPEC; `file:` paths are relative to the config. The rejected
    /// text is never echoed (it is probably the password itself).
    fn password(
        &self,
        s: &Option<Spanned<String>>,
        what: &str,
        warnings: &mut Vec<Finding>,
        entry: &str,
    ) -> Result<Option<Password>, ConfigError> {
        let Some(s) = s else { return Ok(None) };
        let spec: PasswordSpec = s
            .get_ref()
            .parse()
            .map_err(|e| self.err(s, format!("{what}: {e} (the value is not shown)")))?;
        let source = spec.to_string();
        let spec = match spec {
            PasswordSpec::File(p) => PasswordSpec::File(clean(&self.base.join(p))),
            PasswordSpec::Pass(v) => {
                warnings.push(
                    Finding::new(
                        Code::ConfigLiteralPassword,
                        self.shown,
                        format!(
                            "{}:{}: {what} of {entry} is written in the file (pass:); anyone who can read {} or its history has it: use env:VAR or file:PATH",
                            self.shown,
                            self.at(s),
                            self.shown
                        ),
                    )
                    .subject(entry.to_string())
                    .detail("line", self.at(s)),
                );
                PasswordSpec::Pass(v)
            }
            other => other,
        };
        Ok(Some(Password { spec, source }))
    }
}

/// `samples/../signing/x.p12` -> `signing/x.p12`: lexical only (no file system
/// access), so messages show the paths people would type.
pub fn clean(p: &Path) -> PathBuf {
    use std::path::Component;
    let mut out: Vec<Component> = Vec::new();
    for c in p.components() {
        match c {
            Component::CurDir if !out.is_empty() => {}
            Component::ParentDir if matches!(out.last(), Some(Component::Normal(_))) => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    let mut pb: PathBuf = out.iter().collect();
    if pb.as_os_str().is_empty() {
        pb.push(".");
    }
    // "./x" reads as "x".
    match pb.strip_prefix(".") {
        Ok(rest) if !rest.as_os_str().is_empty() => rest.to_path_buf(),
        _ => pb,
    }
}

fn threshold(global: &Threshold, t: Option<RawThreshold>) -> Option<Threshold> {
    t.map(|t| Threshold {
        warn_days: t.warn_days.or(global.warn_days),
        fail_days: t.fail_days.or(global.fail_days),
        remind_days: t.remind_days.or(global.remind_days),
    })
}

/// Parses config text; `shown` is the name used in messages, `base` the folder
/// paths are relative to.
pub fn parse(shown: &str, text: &str, base: &Path) -> Result<Inventory, ConfigError> {
    let raw: Raw = toml::from_str(text).map_err(|e| {
        let line = e.span().map(|s| line_of(text, s.start));
        let table = line.and_then(|l| table_at(text, l));
        let msg = explain(e.message(), table.as_deref());
        match line {
            Some(l) => ConfigError(format!("{shown}:{l}: {msg}")),
            None => ConfigError(format!("{shown}: {msg}")),
        }
    })?;
    let cx = Ctx { shown, text, base };
    let mut warnings = Vec::new();

    let mut levels = Vec::new();
    for (name, level) in &raw.levels {
        if Code::from_name(name.get_ref()).is_none() {
            return Err(cx.err(
                name,
                format!(
                    "unknown finding name \"{}\" in [levels] (see `wrapsign explain --list`)",
                    name.get_ref()
                ),
            ));
        }
        let l: Level = level
            .get_ref()
            .parse()
            .map_err(|e: String| cx.err(level, format!("{e}, for {}", name.get_ref())))?;
        levels.push((name.get_ref().clone(), l));
    }

    let th = raw.thresholds.unwrap_or_default();
    let global = Threshold {
        warn_days: th.warn_days,
        fail_days: th.fail_days,
        remind_days: th.remind_days,
    };
    let mut per_kind = BTreeMap::new();
    for (k, t) in [
        ("distribution", th.distribution),
        ("development", th.development),
        ("apns", th.apns),
        ("ssl", th.ssl),
        ("saml", th.saml),
        ("ca", th.ca),
        ("pki-user", th.pki_user),
        ("other", th.other),
        ("profile", th.profile),
        ("keystore", th.keystore),
        ("devices", th.devices),
    ] {
        if let Some(t) = threshold(&global, t) {
            per_kind.insert(k.to_string(), t);
        }
    }
    for t in std::iter::once(&global).chain(per_kind.values()) {
        for v in [t.warn_days, t.fail_days, t.remind_days]
            .into_iter()
            .flatten()
        {
            if !(0..=36_500).contains(&v) {
                return Err(ConfigError(format!(
                    "{shown}: [thresholds]: {v} days is out of range (0 to 36500)"
                )));
            }
        }
    }

    let mut trust_roots = Vec::new();
    for r in &raw.trust_roots {
        trust_roots.push(cx.path(r)?);
    }

    let mut entries: Vec<Entry> = Vec::new();
    // name -> index, for references from profiles and apps.
    let mut names: BTreeMap<String, (usize, &'static str)> = BTreeMap::new();
    let mut register = |name: &Option<String>,
                        idx: usize,
                        kind: &'static str,
                        line: usize|
     -> Result<(), ConfigError> {
        if let Some(n) = name {
            if names.insert(n.clone(), (idx, kind)).is_some() {
                return Err(ConfigError(format!(
                    "{shown}:{line}: the name \"{n}\" is used twice; names must be unique"
                )));
            }
        }
        Ok(())
    };

    for c in &raw.certificate {
        let line = cx.at(c);
        let v = c.get_ref();
        let label = v.name.clone().unwrap_or_else(|| v.file.get_ref().clone());
        let password = cx.password(&v.password, "password", &mut warnings, &label)?;
        let key = v.key.as_ref().map(|k| cx.path(k)).transpose()?;
        let file = cx.path(&v.file)?;
        register(&v.name, entries.len(), "certificate", line)?;
        entries.push(Entry {
            name: v.name.clone(),
            origin: Origin::Config { line },
            description: v.description.clone(),
            owner: v.owner.clone(),
            notes: v.notes.clone(),
            what: What::Certificate(CertSpec {
                class: v.kind,
                file,
                password,
                key,
                team_id: v.team_id.clone(),
                topic: v.topic.clone(),
                hosts: v.hosts.clone(),
            }),
            problem: None,
        });
    }
    for k in &raw.keystore {
        let line = cx.at(k);
        let v = k.get_ref();
        let label = v.name.clone().unwrap_or_else(|| v.file.get_ref().clone());
        let password = cx.password(&v.password, "password", &mut warnings, &label)?;
        let key_password = cx.password(&v.key_password, "key_password", &mut warnings, &label)?;
        let file = cx.path(&v.file)?;
        register(&v.name, entries.len(), "keystore", line)?;
        entries.push(Entry {
            name: v.name.clone(),
            origin: Origin::Config { line },
            description: v.description.clone(),
            owner: v.owner.clone(),
            notes: v.notes.clone(),
            what: What::Keystore(KeystoreSpec {
                file,
                password,
                key_password,
                aliases: v.aliases.clone(),
                store_type: v.store_type.map(|t| match t {
                    StoreTypeName::Jks => StoreType::Jks,
                    StoreTypeName::Jceks => StoreType::Jceks,
                    StoreTypeName::Pkcs12 => StoreType::Pkcs12,
                }),
            }),
            problem: None,
        });
    }
    for d in &raw.devices {
        let line = cx.at(d);
        let v = d.get_ref();
        let zip = cx.path(&v.zip)?;
        let credentials = match (&v.credentials, &v.credentials_name) {
            (Some(c), None) => Credentials::File(cx.path(c)?),
            (None, n) => Credentials::Inside(n.as_ref().map(|n| n.get_ref().clone())),
            (Some(_), Some(n)) => {
                return Err(cx.err(
                    n,
                    "credentials_name names the credentials file inside the zip, credentials one beside it: give one of them",
                ))
            }
        };
        register(&v.name, entries.len(), "devices", line)?;
        entries.push(Entry {
            name: v.name.clone(),
            origin: Origin::Config { line },
            description: v.description.clone(),
            owner: v.owner.clone(),
            notes: v.notes.clone(),
            what: What::Devices(DevicesSpec {
                zip,
                credentials,
                id_type: v.identity_type,
            }),
            problem: None,
        });
    }
    // Profiles and apps refer to the entries above (and apps to profiles) by name.
    let resolve = |names: &BTreeMap<String, (usize, &'static str)>,
                   r: &Spanned<String>,
                   want: &str|
     -> Result<usize, ConfigError> {
        match names.get(r.get_ref()) {
            Some((i, k)) if *k == want => Ok(*i),
            Some((_, k)) => Err(cx.err(r, format!("\"{}\" is a {k}, not a {want}", r.get_ref()))),
            None => Err(cx.err(
                r,
                format!(
                    "no {want} is named \"{}\" (give the {want} entry name = \"{}\")",
                    r.get_ref(),
                    r.get_ref()
                ),
            )),
        }
    };
    for p in &raw.profile {
        let line = cx.at(p);
        let v = p.get_ref();
        let certificate = v
            .certificate
            .as_ref()
            .map(|r| resolve(&names, r, "certificate"))
            .transpose()?;
        let file = cx.path(&v.file)?;
        if let Some(n) = &v.name {
            if names
                .insert(n.clone(), (entries.len(), "profile"))
                .is_some()
            {
                return Err(ConfigError(format!(
                    "{shown}:{line}: the name \"{n}\" is used twice; names must be unique"
                )));
            }
        }
        entries.push(Entry {
            name: v.name.clone(),
            origin: Origin::Config { line },
            description: v.description.clone(),
            owner: v.owner.clone(),
            notes: v.notes.clone(),
            what: What::Profile(ProfileSpec {
                file,
                certificates: certificate.into_iter().collect(),
            }),
            problem: None,
        });
    }
    for a in &raw.app {
        let line = cx.at(a);
        let v = a.get_ref();
        let certificate = v
            .certificate
            .as_ref()
            .map(|r| resolve(&names, r, "certificate"))
            .transpose()?;
        let keystore = v
            .keystore
            .as_ref()
            .map(|r| resolve(&names, r, "keystore"))
            .transpose()?;
        let profiles = v
            .profiles
            .iter()
            .map(|r| resolve(&names, r, "profile"))
            .collect::<Result<Vec<_>, _>>()?;
        if v.alias.is_some() && keystore.is_none() {
            return Err(ConfigError(format!(
                "{shown}:{line}: alias without keystore in [[app]]: name the keystore that holds it"
            )));
        }
        let file = cx.path(&v.file)?;
        entries.push(Entry {
            name: v.name.clone(),
            origin: Origin::Config { line },
            description: v.description.clone(),
            owner: v.owner.clone(),
            notes: v.notes.clone(),
            what: What::App(AppSpec {
                embedded: profiles.is_empty(),
                certificates: certificate.into_iter().collect(),
                profiles,
                keystores: keystore.into_iter().collect(),
                alias: v.alias.clone(),
                ..AppSpec::new(file)
            }),
            problem: None,
        });
    }
    Ok(Inventory {
        source: Some(shown.to_string()),
        entries,
        trust_roots,
        thresholds: Thresholds { global, per_kind },
        levels,
        warnings,
        items: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> String {
        match parse("wrapsign.toml", text, Path::new(".")) {
            Ok(_) => panic!("accepted:\n{text}"),
            Err(e) => e.0,
        }
    }

    #[test]
    fn errors_name_the_line_and_the_table() {
        let text = "[[certificate]]\nkind = \"ssl\"\nfile = \"a.pem\"\npasword = \"env:X\"\n";
        let e = err(text);
        assert!(
            e.starts_with("wrapsign.toml:4: unknown key \"pasword\" in [[certificate]]"),
            "{e}"
        );
        let e = err("[[certificate]]\nkind = \"sll\"\nfile = \"a.pem\"\n");
        assert!(
            e.starts_with("wrapsign.toml:2: unknown value \"sll\""),
            "{e}"
        );
        let e = err("[levels]\ncert-expired = \"loud\"\n");
        assert!(e.starts_with("wrapsign.toml:2: unknown level"), "{e}");
        let e = err("[levels]\n\nno-such-name = \"warn\"\n");
        assert!(
            e.starts_with("wrapsign.toml:3: unknown finding name"),
            "{e}"
        );
        let e = err("[thresholds.apns]\nwarn_days = \"30\"\n");
        assert!(e.starts_with("wrapsign.toml:2:"), "{e}");
        let e = err("[[app]]\nfile = \"a.ipa\"\nprofiles = [\"nope\"]\n");
        assert!(
            e.starts_with("wrapsign.toml:3: no profile is named \"nope\""),
            "{e}"
        );
    }

    #[test]
    fn a_bad_password_spec_is_never_echoed() {
        let e = err("[[keystore]]\nfile = \"k.jks\"\npassword = \"hunter2\"\n");
        assert!(e.starts_with("wrapsign.toml:3: password:"), "{e}");
        assert!(!e.contains("hunter2"), "{e}");
    }

    #[test]
    fn literal_passwords_are_warned_about_and_paths_are_relative() {
        let inv = parse(
            "conf/wrapsign.toml",
            "[[keystore]]\nfile = \"k.jks\"\npassword = \"pass:hunter2\"\n[[certificate]]\nkind = \"apns\"\nfile = \"a.p12\"\npassword = \"file:p.pass\"\n",
            Path::new("conf"),
        )
        .unwrap();
        assert_eq!(inv.warnings.len(), 1);
        assert!(!inv.warnings[0].message.contains("hunter2"));
        assert!(inv.warnings[0].message.starts_with("conf/wrapsign.toml:3:"));
        let What::Certificate(c) = &inv.entries[0].what else {
            panic!()
        };
        assert_eq!(c.file, Path::new("conf/a.p12"));
        assert_eq!(
            clean(Path::new("samples/../signing/x.p12")),
            Path::new("signing/x.p12")
        );
        assert_eq!(clean(Path::new("./a/./b")), Path::new("a/b"));
        assert_eq!(clean(Path::new("../x")), Path::new("../x"));
        let p = c.password.as_ref().unwrap();
        assert_eq!(p.source, "file:p.pass");
        assert!(matches!(&p.spec, PasswordSpec::File(f) if f == Path::new("conf/p.pass")));
    }

    #[test]
    fn thresholds_inherit_from_the_global_ones() {
        let inv = parse(
            "w.toml",
            "[thresholds]\nwarn_days = 45\nfail_days = 3\n[thresholds.apns]\nwarn_days = 60\n",
            Path::new("."),
        )
        .unwrap();
        let a = &inv.thresholds.per_kind["apns"];
        assert_eq!((a.warn_days, a.fail_days), (Some(60), Some(3)));
        assert_eq!(inv.thresholds.global.warn_days, Some(45));
    }
}
