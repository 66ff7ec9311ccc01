//! Gathering a run's inventory from every route: the entries of
//! `wrapsign.toml`, the files named on the command line (as paths or with their
//! flags) and what each named folder holds. Each file is classified once by
//! [`crate::material::classify`], so a file becomes the same entry, checked the
//! same way, whichever way it came; only the relations differ (material named
//! together on the command line is checked together: an identity against the
//! profiles and apps, APKs against the keystores).

use std::path::PathBuf;

use super::{entry_for, scan, Entry, EntryOpts, Inventory, Origin, Password, What};
use crate::android::keystore::StoreType;
use crate::diag::{Finding, Item, ItemKind};
use crate::material::{self, Hint, Material, Tries};
use crate::secret::{Passwords, Unlock};
use crate::sniff::Kind;
use crate::zip::Limits;

/// What the command line names: paths (files or folders) and the flags that
/// name material.
#[derive(Clone, Debug, Default)]
pub struct Inputs {
    pub paths: Vec<PathBuf>,
    /// `--cert`: the identity; `--key` is its private key.
    pub cert: Option<PathBuf>,
    pub key: Option<PathBuf>,
    pub profiles: Vec<PathBuf>,
    pub profiles_dir: Option<PathBuf>,
    pub apps: Vec<PathBuf>,
    pub keystores: Vec<PathBuf>,
    /// Keystore aliases to check (every alias when empty).
    pub aliases: Vec<String>,
    pub ks_type: Option<StoreType>,
    /// Device bundles: the credentials entry inside the zip (`--credentials-name`)
    /// and the declared identity type (`--identity-type`).
    pub credentials_name: Option<String>,
    pub id_type: Option<super::bulk::IdType>,
}

/// What wrapsign looks for, for "nothing to check" messages.
const LOOKS_FOR: &str = "certificates, .p12/.pfx identities, provisioning profiles, IPAs, .app bundles, APKs, keystores and device bundles";

/// Builds the inventory of a run: the config's entries (when `config` is
/// given), the inputs, then what each named folder holds. A usage error when a
/// folder or the config holds nothing to check, or nothing was named at all.
pub fn gather(
    config: Option<Inventory>,
    inputs: &Inputs,
    passwords: &Passwords,
    limits: &Limits,
) -> Result<Inventory, String> {
    let had_config = config.is_some();
    let mut inv = config.unwrap_or_default();
    if had_config && inv.entries.is_empty() && inputs.is_empty() {
        return Err(format!(
            "{} lists nothing to check: add [[certificate]], [[profile]], [[keystore]], [[app]] or [[devices]] entries",
            inv.source.as_deref().unwrap_or("the config")
        ));
    }
    if !had_config && inputs.is_empty() {
        return Err(format!(
            "nothing to check: name files or folders, use --cert/--profile/--app/--keystore, or write a {} (see --config)",
            super::config::DEFAULT_NAME
        ));
    }
    let tries = Tries::of(passwords);
    let key = passwords.key();
    classify_config(&mut inv, &tries, key.as_ref());
    cli_entries(&mut inv, inputs, &tries, key.as_ref(), limits);
    for dir in folders(inputs) {
        let found = scan::scan(&dir, &tries, key.as_ref());
        let shown = dir.display().to_string();
        if found.entries.is_empty() {
            return Err(match found.files {
                0 => format!("nothing to check: the folder {shown} is empty"),
                n => format!(
                    "nothing to check in {shown}: none of its {n} file(s) is signing material or an app (wrapsign looks for {LOOKS_FOR})"
                ),
            });
        }
        let mut summary = format!("{} file(s): {} to check", found.files, found.entries.len());
        if found.skipped > 0 {
            summary.push_str(&format!(", {} not signing material", found.skipped));
        }
        if found.locked > 0 {
            summary.push_str(&format!(", {} no password opens", found.locked));
        }
        inv.items.push(
            Item::new(ItemKind::Scan, &shown)
                .subject(summary)
                .fact("found", found.entries.len())
                .fact("skipped_files", found.skipped)
                .fact("locked_files", found.locked),
        );
        inv.warnings.extend(found.warnings);
        inv.entries.extend(found.entries);
    }
    if inv.entries.is_empty() {
        // `--profiles-dir` alone: candidates, and no app to choose for.
        return Err(
            "nothing to check: --profiles-dir offers profiles to the apps checked; name the apps (--app or paths)"
                .to_string(),
        );
    }
    Ok(inv)
}

/// The named folders that are not app bundles, in order.
fn folders(inputs: &Inputs) -> Vec<PathBuf> {
    inputs
        .paths
        .iter()
        .filter(|p| p.is_dir() && crate::sniff::sniff_path(p).is_ok_and(|k| k == Kind::Dir))
        .cloned()
        .collect()
}

/// Certificates and keystores of the config are classified like any other
/// file, each with its own password (read now, in entry order, as `stdin`
/// allows only that) or, when it has none, the run's.
fn classify_config(inv: &mut Inventory, tries: &Tries, key: Option<&Unlock>) {
    for e in &mut inv.entries {
        let (file, own) = match &e.what {
            What::Certificate(c) => (c.file.clone(), c.password.clone()),
            What::Keystore(k) => (k.file.clone(), k.password.clone()),
            _ => continue,
        };
        let own_key = match &e.what {
            What::Keystore(k) => k.key_password.clone(),
            _ => None,
        };
        let shown = file.display().to_string();
        let read = |p: &Password, what: &str| {
            p.spec.resolve().map_err(|err| {
                Finding::unreadable(&shown, format!("{shown}: {what} ({}): {err}", p.source))
            })
        };
        let mine = match own.as_ref().map(|p| read(p, "password")).transpose() {
            Ok(v) => v,
            Err(f) => {
                e.problem = Some(f);
                continue;
            }
        };
        let key_read = match own_key
            .as_ref()
            .map(|p| read(p, "key_password"))
            .transpose()
        {
            Ok(v) => v,
            Err(f) => {
                e.problem = Some(f);
                continue;
            }
        };
        let entry_tries = match (&mine, &own) {
            (Some(secret), Some(p)) => Tries::only(Unlock {
                secret: secret.clone(),
                source: p.source.clone(),
            }),
            _ => tries.clone(),
        };
        let hint = Hint {
            ks_type: match &e.what {
                What::Keystore(k) => k.store_type,
                _ => None,
            },
            prompt: false,
        };
        let c = material::classify(&file, &entry_tries, hint);
        let key_pw = match (key_read, own_key) {
            (Some(secret), Some(p)) => Some(Unlock {
                secret,
                source: p.source,
            }),
            _ => key.cloned(),
        };
        let declared = match &e.what {
            What::Certificate(c) => Some(c.clone()),
            _ => None,
        };
        let aliases = match &e.what {
            What::Keystore(k) => k.aliases.clone(),
            _ => Vec::new(),
        };
        let opts = EntryOpts {
            key: key_pw.as_ref(),
            ..EntryOpts::default()
        };
        let mut fresh = entry_for(file, c, opts, e.origin);
        // Keep what the entry says beyond the file: a certificate's declared
        // kind and expectations, a keystore's aliases and type.
        match (&mut fresh.what, declared) {
            (What::Certificate(f), Some(d)) => {
                f.class = d.class;
                f.key = d.key;
                f.team_id = d.team_id;
                f.topic = d.topic;
                f.hosts = d.hosts;
                if f.password.is_none() {
                    f.password = d.password;
                }
            }
            (What::Keystore(k), _) => {
                k.aliases = aliases;
                if k.password.is_none() {
                    k.password = own;
                }
                if let What::Keystore(old) = &e.what {
                    k.store_type = k.store_type.or(old.store_type);
                }
            }
            _ => {}
        }
        e.what = fresh.what;
        e.problem = fresh.problem;
    }
}

/// The files named on the command line, classified, in the order checks
/// report them: identities, profiles, apps, keystores, APKs, then the rest;
/// related to each other as `verify` relates them.
fn cli_entries(
    inv: &mut Inventory,
    inputs: &Inputs,
    tries: &Tries,
    key: Option<&Unlock>,
    limits: &Limits,
) {
    let hint = Hint {
        ks_type: inputs.ks_type,
        prompt: true,
    };
    let named = inputs
        .cert
        .iter()
        .chain(&inputs.profiles)
        .chain(&inputs.apps)
        .chain(&inputs.keystores)
        .chain(&inputs.paths);
    let mut groups: [Vec<(Entry, Material)>; 6] = Default::default();
    for p in named {
        let c = material::classify(p, tries, hint);
        let m = c.material.clone();
        if m == Material::Folder && inputs.paths.contains(p) {
            continue; // scanned after
        }
        let opts = EntryOpts {
            key,
            credentials_name: inputs.credentials_name.as_deref(),
            id_type: inputs.id_type,
        };
        let mut e = entry_for(p.clone(), c, opts, Origin::Cli);
        if let (Material::Other(Kind::Zip), Some(f)) = (&m, &mut e.problem) {
            // A hostile zip gets its archive finding rather than "not material".
            if let Err(a) = crate::zip::Archive::open_path(p, limits) {
                *f = a;
            }
        }
        let g = match (&e.what, &m) {
            (_, Material::Apk) => 4,
            (What::Certificate(_), _) if e.problem.is_none() => 0,
            (What::Profile(_), _) => 1,
            (What::App(_), _) => 2,
            (What::Keystore(_), _) if e.problem.is_none() => 3,
            _ => 5,
        };
        groups[g].push((e, m));
    }
    let base = inv.entries.len();
    let mut index = base;
    let mut ranges = Vec::new();
    for g in &groups {
        ranges.push(index..index + g.len());
        index += g.len();
    }
    let identities: Vec<usize> = ranges[0]
        .clone()
        .zip(&groups[0])
        .filter(|(_, (_, m))| matches!(m, Material::Certificate(c) if c.signs_ios_apps()))
        .map(|(i, _)| i)
        .collect();
    let profiles: Vec<usize> = ranges[1].clone().collect();
    let keystores: Vec<usize> = ranges[3].clone().collect();
    // --key belongs to --cert, or to the only certificate named.
    let key_owner = match (&inputs.cert, groups[0].len()) {
        (Some(c), _) => groups[0]
            .iter()
            .position(|(e, _)| super::entry_file(e) == c.as_path()),
        (None, 1) => Some(0),
        _ => None,
    };
    for (g, group) in groups.into_iter().enumerate() {
        for (n, (mut e, _)) in group.into_iter().enumerate() {
            match &mut e.what {
                What::Certificate(c) if g == 0 && Some(n) == key_owner => {
                    c.key = inputs.key.clone();
                }
                What::Profile(p) => p.certificates = identities.clone(),
                What::App(a) if g == 2 => {
                    a.certificates = identities.clone();
                    a.profiles = profiles.clone();
                    a.profiles_dir = inputs.profiles_dir.clone();
                    a.embedded = inputs.profiles_dir.is_none();
                }
                What::App(a) => a.keystores = keystores.clone(),
                What::Keystore(k) => {
                    k.aliases = inputs.aliases.clone();
                    k.store_type = k.store_type.or(inputs.ks_type);
                }
                _ => {}
            }
            inv.entries.push(e);
        }
    }
}
