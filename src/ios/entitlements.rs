//! Entitlements: whether what an app's signature claims is granted by its profile.

use plist::{Dictionary, Value};

/// Apple's wildcard rule for App IDs and entitlement values: `*` matches anything,
/// a trailing `*` (as in `TEAM.com.example.*`) matches any string with that prefix.
pub fn pattern_matches(pattern: &str, value: &str) -> bool {
    if pattern == "*" {
        return true;
    }
    match pattern.strip_suffix('*') {
        Some(prefix) => value.starts_with(prefix),
        None => pattern == value,
    }
}

/// Whether a signed value `have` is allowed by the profile's value `granted`.
pub fn value_allowed(have: &Value, granted: &Value) -> bool {
    match (have, granted) {
        // `false` never needs a grant; `true` needs `true`.
        (Value::Boolean(h), Value::Boolean(g)) => !*h || *g,
        (Value::String(h), Value::String(g)) => pattern_matches(g, h),
        (Value::String(_), Value::Array(g)) => g.iter().any(|x| value_allowed(have, x)),
        (Value::Array(h), Value::Array(_)) | (Value::Array(h), Value::String(_)) => {
            h.iter().all(|x| value_allowed(x, granted))
        }
        _ => have == granted,
    }
}

/// Entitlements in `signed` that `profile` does not grant, with the reason.
pub fn not_allowed(signed: &Dictionary, profile: &Dictionary) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (key, have) in signed {
        match profile.get(key) {
            None if !matches!(have, Value::Boolean(false)) => {
                out.push((key.clone(), "the profile does not grant it".to_string()));
            }
            None => {}
            Some(granted) if !value_allowed(have, granted) => {
                out.push((
                    key.clone(),
                    format!(
                        "signed value {} is not within the profile's {}",
                        show(have),
                        show(granted)
                    ),
                ));
            }
            _ => {}
        }
    }
    out
}

/// Entitlements whose value is the team's environment choice, not a capability
/// list: the profile's value wins (a development-signed app re-signed for
/// distribution gets `production`).
const PROFILE_VALUED: &[&str] = &["aps-environment", "com.apple.developer.aps-environment"];

/// One entitlement (or some values of it) left out when re-signing.
#[derive(Clone, Debug, PartialEq)]
pub struct Dropped {
    pub key: String,
    /// What was removed: the whole value, or the array elements that went.
    pub removed: Value,
    pub reason: String,
}

/// The entitlements to sign a bundle with, and what changed on the way.
#[derive(Clone, Debug, Default)]
pub struct Derived {
    pub entitlements: Dictionary,
    pub dropped: Vec<Dropped>,
    /// `(key, old value, new value)` for values rewritten to the new team, App ID or profile.
    pub rewritten: Vec<(String, String, String)>,
}

/// What [`derive`] works from.
#[derive(Clone, Debug)]
pub struct DeriveInput<'a> {
    /// What the app asks for: its current signed entitlements, or a `--entitlements`
    /// file. `None` when the binary was never signed.
    pub requested: Option<&'a Dictionary>,
    /// The profile's `Entitlements`.
    pub granted: &'a Dictionary,
    /// The bundle's (new) id.
    pub bundle_id: &'a str,
    /// The new team id.
    pub team: &'a str,
    /// The team the app was signed for, when known from its signature.
    pub old_team: Option<&'a str>,
    /// Whether the profile is a distribution profile.
    pub distribution: bool,
    /// `(old main id, new main id)` under `--bundle-id`: team-prefixed values
    /// named after the old ids (the app's own keychain group) follow.
    pub rename: Option<(&'a str, &'a str)>,
}

fn rewrite_strings(v: &mut Value, f: &dyn Fn(&str) -> Option<String>) {
    match v {
        Value::String(s) => {
            if let Some(n) = f(s) {
                *s = n;
            }
        }
        Value::Array(a) => a.iter_mut().for_each(|x| rewrite_strings(x, f)),
        Value::Dictionary(d) => d.iter_mut().for_each(|(_, x)| rewrite_strings(x, f)),
        _ => {}
    }
}

/// Derives a bundle's entitlements from its profile the way Xcode does: keep what
/// the app asks for that the profile allows, move team-prefixed values to the new
/// team, set `application-identifier` to the explicit `TEAM.bundle.id` (expanding a
/// wildcard App ID), take `get-task-allow` and the push environment from the
/// profile, and report everything removed.
pub fn derive(input: &DeriveInput) -> Derived {
    let team = input.team;
    let granted = input.granted;
    let mut out = Derived::default();
    let mut requested = input.requested.cloned().unwrap_or_default();

    // The team the request was written for: the signature's, else the App ID prefix.
    let old_team = input
        .old_team
        .map(str::to_string)
        .or_else(|| {
            requested
                .get("application-identifier")
                .and_then(Value::as_string)
                .and_then(|a| a.split_once('.'))
                .map(|(t, _)| t.to_string())
        })
        .or_else(|| {
            requested
                .get("com.apple.developer.team-identifier")
                .and_then(Value::as_string)
                .map(str::to_string)
        })
        .filter(|t| !t.is_empty() && t != team);
    let new_prefix = format!("{team}.");
    for (key, v) in requested.iter_mut() {
        let before = show(v);
        rewrite_strings(v, &|s: &str| {
            // Xcode's build-setting placeholders, as found in .entitlements files.
            let mut n = s
                .replace("$(AppIdentifierPrefix)", &new_prefix)
                .replace("$(TeamIdentifierPrefix)", &new_prefix);
            if let Some(old) = &old_team {
                if n == *old {
                    n = team.to_string();
                } else if let Some(rest) = n.strip_prefix(&format!("{old}.")) {
                    n = format!("{team}.{rest}");
                }
            }
            if let Some((old_id, new_id)) = input.rename {
                if let Some(rest) = n.strip_prefix(&new_prefix) {
                    if rest == old_id {
                        n = format!("{new_prefix}{new_id}");
                    } else if let Some(tail) =
                        rest.strip_prefix(old_id).filter(|t| t.starts_with('.'))
                    {
                        n = format!("{new_prefix}{new_id}{tail}");
                    }
                }
            }
            (n != s).then_some(n)
        });
        let after = show(v);
        if before != after {
            out.rewritten.push((key.clone(), before, after));
        }
    }

    let ents = &mut out.entitlements;
    // Identity entitlements come from the profile, always explicit.
    let app_id = format!("{team}.{}", input.bundle_id);
    if let Some(old) = requested
        .get("application-identifier")
        .and_then(Value::as_string)
    {
        if old != app_id {
            out.rewritten.push((
                "application-identifier".into(),
                format!("\"{old}\""),
                format!("\"{app_id}\""),
            ));
        }
    }
    ents.insert(
        "application-identifier".into(),
        Value::String(app_id.clone()),
    );
    if granted.contains_key("com.apple.developer.team-identifier")
        || requested.contains_key("com.apple.developer.team-identifier")
    {
        ents.insert(
            "com.apple.developer.team-identifier".into(),
            Value::String(team.to_string()),
        );
    }
    // get-task-allow (debugger attach) is the profile's call; distribution never has it.
    let gta_granted = !input.distribution
        && granted
            .get("get-task-allow")
            .and_then(Value::as_boolean)
            .unwrap_or(false);
    if requested.get("get-task-allow").and_then(Value::as_boolean) == Some(true) && !gta_granted {
        out.dropped.push(Dropped {
            key: "get-task-allow".into(),
            removed: Value::Boolean(true),
            reason: if input.distribution {
                "distribution profiles never allow debugging".into()
            } else {
                "the profile does not allow debugging".into()
            },
        });
    }
    if requested.contains_key("get-task-allow") || granted.contains_key("get-task-allow") {
        ents.insert("get-task-allow".into(), Value::Boolean(gta_granted));
    }
    // A never-signed app asks for nothing; give it the keychain group Xcode adds.
    if input.requested.is_none() {
        let default_group = Value::Array(vec![Value::String(app_id.clone())]);
        if granted
            .get("keychain-access-groups")
            .is_some_and(|g| value_allowed(&default_group, g))
        {
            ents.insert("keychain-access-groups".into(), default_group);
        }
    }

    const IDENTITY: &[&str] = &[
        "application-identifier",
        "com.apple.developer.team-identifier",
        "get-task-allow",
    ];
    for (key, have) in &requested {
        if IDENTITY.contains(&key.as_str()) {
            continue;
        }
        let Some(grant) = granted.get(key) else {
            // `false` needs no grant.
            if matches!(have, Value::Boolean(false)) {
                ents.insert(key.clone(), have.clone());
            } else {
                out.dropped.push(Dropped {
                    key: key.clone(),
                    removed: have.clone(),
                    reason: "the profile does not grant it".into(),
                });
            }
            continue;
        };
        if PROFILE_VALUED.contains(&key.as_str()) {
            if let Value::String(g) = grant {
                if !g.contains('*') {
                    if have != grant {
                        out.rewritten.push((key.clone(), show(have), show(grant)));
                    }
                    ents.insert(key.clone(), grant.clone());
                    continue;
                }
            }
        }
        if value_allowed(have, grant) {
            ents.insert(key.clone(), have.clone());
            continue;
        }
        // Keep the allowed part of a list, drop the rest.
        if let Value::Array(items) = have {
            let (keep, gone): (Vec<Value>, Vec<Value>) =
                items.iter().cloned().partition(|x| value_allowed(x, grant));
            if !keep.is_empty() {
                ents.insert(key.clone(), Value::Array(keep));
            }
            out.dropped.push(Dropped {
                key: key.clone(),
                removed: Value::Array(gone),
                reason: format!("not within the profile's {}", show(grant)),
            });
            continue;
        }
        out.dropped.push(Dropped {
            key: key.clone(),
            removed: have.clone(),
            reason: format!("the profile grants {}", show(grant)),
        });
    }
    out
}

/// Serialises entitlements as the XML plist apple-codesign takes.
pub fn to_xml(d: &Dictionary) -> Result<String, String> {
    let mut buf = Vec::new();
    Value::Dictionary(d.clone())
        .to_writer_xml(&mut buf)
        .map_err(|e| format!("cannot serialise entitlements: {e}"))?;
    String::from_utf8(buf).map_err(|e| format!("cannot serialise entitlements: {e}"))
}

/// A compact one-line rendering of a plist value for messages.
pub fn show(v: &Value) -> String {
    match v {
        Value::Boolean(b) => b.to_string(),
        Value::String(s) => format!("\"{s}\""),
        Value::Integer(i) => i.to_string(),
        Value::Array(a) => format!("[{}]", a.iter().map(show).collect::<Vec<_>>().join(", ")),
        Value::Dictionary(_) => "{...}".to_string(),
        _ => "?".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(x: &str) -> Value {
        Value::String(x.into())
    }

    #[test]
    fn wildcards() {
        assert!(pattern_matches("*", "anything"));
        assert!(pattern_matches("T.com.example.*", "T.com.example.app"));
        assert!(!pattern_matches("T.com.example.*", "T.org.example.app"));
        assert!(pattern_matches("T.com.example.app", "T.com.example.app"));
        assert!(!pattern_matches("T.com.example.app", "T.com.example.app2"));
    }

    #[test]
    fn values() {
        assert!(value_allowed(
            &Value::Boolean(false),
            &Value::Boolean(false)
        ));
        assert!(!value_allowed(
            &Value::Boolean(true),
            &Value::Boolean(false)
        ));
        assert!(value_allowed(
            &Value::Array(vec![s("T.com.a")]),
            &Value::Array(vec![s("T.*")])
        ));
        assert!(!value_allowed(
            &Value::Array(vec![s("group.b")]),
            &Value::Array(vec![s("group.a")])
        ));
        assert!(value_allowed(
            &Value::Array(vec![s("applinks:x.com")]),
            &s("*")
        ));
        let mut signed = Dictionary::new();
        signed.insert("com.apple.developer.healthkit".into(), Value::Boolean(true));
        signed.insert("get-task-allow".into(), Value::Boolean(false));
        let bad = not_allowed(&signed, &Dictionary::new());
        assert_eq!(bad.len(), 1);
        assert_eq!(bad[0].0, "com.apple.developer.healthkit");
    }

    fn dict(pairs: &[(&str, Value)]) -> Dictionary {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect()
    }

    fn profile_ents(team: &str, app: &str, gta: bool) -> Dictionary {
        dict(&[
            ("application-identifier", s(&format!("{team}.{app}"))),
            (
                "keychain-access-groups",
                Value::Array(vec![s(&format!("{team}.*"))]),
            ),
            ("get-task-allow", Value::Boolean(gta)),
            ("com.apple.developer.team-identifier", s(team)),
            (
                "aps-environment",
                s(if gta { "development" } else { "production" }),
            ),
            (
                "com.apple.security.application-groups",
                Value::Array(vec![s("group.a")]),
            ),
        ])
    }

    #[test]
    fn derive_rewrites_team_expands_wildcard_and_drops() {
        let requested = dict(&[
            ("application-identifier", s("OLDTEAM.com.x.app")),
            ("com.apple.developer.team-identifier", s("OLDTEAM")),
            (
                "keychain-access-groups",
                Value::Array(vec![s("OLDTEAM.com.x.app"), s("com.apple.token")]),
            ),
            ("get-task-allow", Value::Boolean(true)),
            ("aps-environment", s("development")),
            (
                "com.apple.security.application-groups",
                Value::Array(vec![s("group.a"), s("group.b")]),
            ),
            ("com.apple.developer.healthkit", Value::Boolean(true)),
        ]);
        let granted = profile_ents("NEWTEAM", "*", false);
        let d = derive(&DeriveInput {
            requested: Some(&requested),
            granted: &granted,
            bundle_id: "com.y.app",
            team: "NEWTEAM",
            old_team: None,
            distribution: true,
            rename: None,
        });
        let e = &d.entitlements;
        assert_eq!(
            e.get("application-identifier"),
            Some(&s("NEWTEAM.com.y.app"))
        );
        assert_eq!(
            e.get("com.apple.developer.team-identifier"),
            Some(&s("NEWTEAM"))
        );
        assert_eq!(
            e.get("keychain-access-groups"),
            Some(&Value::Array(vec![s("NEWTEAM.com.x.app")]))
        );
        assert_eq!(e.get("get-task-allow"), Some(&Value::Boolean(false)));
        assert_eq!(e.get("aps-environment"), Some(&s("production")));
        assert_eq!(
            e.get("com.apple.security.application-groups"),
            Some(&Value::Array(vec![s("group.a")]))
        );
        assert!(e.get("com.apple.developer.healthkit").is_none());
        let dropped: Vec<&str> = d.dropped.iter().map(|x| x.key.as_str()).collect();
        assert_eq!(
            dropped,
            vec![
                "get-task-allow",
                "keychain-access-groups",
                "com.apple.security.application-groups",
                "com.apple.developer.healthkit"
            ]
        );
        // Everything kept is allowed by the profile.
        assert!(not_allowed(e, &granted).is_empty());
    }

    #[test]
    fn derive_for_unsigned_app_and_placeholders() {
        let granted = profile_ents("T1", "com.a", false);
        let d = derive(&DeriveInput {
            requested: None,
            granted: &granted,
            bundle_id: "com.a",
            team: "T1",
            old_team: None,
            distribution: true,
            rename: None,
        });
        assert_eq!(
            d.entitlements.get("keychain-access-groups"),
            Some(&Value::Array(vec![s("T1.com.a")]))
        );
        assert!(d.dropped.is_empty());
        let file = dict(&[(
            "keychain-access-groups",
            Value::Array(vec![s("$(AppIdentifierPrefix)com.a")]),
        )]);
        let d = derive(&DeriveInput {
            requested: Some(&file),
            ..DeriveInput {
                requested: None,
                granted: &granted,
                bundle_id: "com.a",
                team: "T1",
                old_team: None,
                distribution: true,
                rename: Some(("com.old", "com.a")),
            }
        });
        assert_eq!(
            d.entitlements.get("keychain-access-groups"),
            Some(&Value::Array(vec![s("T1.com.a")]))
        );
        // Under --bundle-id, groups named after the old ids follow; others stay.
        let old = dict(&[(
            "keychain-access-groups",
            Value::Array(vec![s("T0.com.old.ext"), s("T0.com.older")]),
        )]);
        let d = derive(&DeriveInput {
            requested: Some(&old),
            granted: &granted,
            bundle_id: "com.a.ext",
            team: "T1",
            old_team: Some("T0"),
            distribution: true,
            rename: Some(("com.old", "com.a")),
        });
        assert_eq!(
            d.entitlements.get("keychain-access-groups"),
            Some(&Value::Array(vec![s("T1.com.a.ext"), s("T1.com.older")]))
        );
    }
}
