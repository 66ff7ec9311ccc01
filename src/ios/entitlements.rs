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
}
