//! Structured, validated keys: `{namespace}/{service}/{component}/{name}`.

use std::fmt;

use crate::error::{Error, Result};

/// The longest part of a key, in bytes.
pub const MAX_PART_LEN: usize = 64;

/// The longest key, in bytes (parts and separators). It keeps a file store's file name (the key
/// with its separators replaced, and a suffix) under the 255 bytes most file systems allow.
pub const MAX_KEY_LEN: usize = 240;

/// A key of the state store: four parts, `{namespace}/{service}/{component}/{name}`.
///
/// The namespace separates deployments (or tenants) sharing one server, the service names the
/// replicated service, the component is the `Scaler`'s component (so that shared baselines are
/// kept per component), and the name says what the value is (`baseline`, `leader`, ...).
///
/// Each part is 1 to [`MAX_PART_LEN`] bytes of ASCII letters, digits, `-`, `_` and `.`, and does
/// not start with `.`; the whole key is at most [`MAX_KEY_LEN`] bytes. These rules keep a key a
/// safe file name, free of Redis's glob characters, and printable in logs.
///
/// # Example
///
/// ```
/// use prescient_state::{Key, KeySpace};
///
/// let space = KeySpace::new("prod", "checkout")?;
/// let key = space.key("api", "baseline")?;
/// assert_eq!(key.as_str(), "prod/checkout/api/baseline");
/// assert_eq!(key.component(), "api");
/// assert_eq!(Key::parse("prod/checkout/api/baseline")?, key);
/// assert!(space.key("api/v2", "baseline").is_err());
/// # Ok::<(), prescient_state::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Key {
    text: String,
}

impl Key {
    /// A key from its four parts.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidKey`] when a part is empty, too long, starts with `.` or holds a character
    /// other than ASCII letters, digits, `-`, `_` and `.`, or when the key is too long.
    pub fn new(namespace: &str, service: &str, component: &str, name: &str) -> Result<Self> {
        for part in [namespace, service, component, name] {
            check_part(part)?;
        }
        let text = format!("{namespace}/{service}/{component}/{name}");
        if text.len() > MAX_KEY_LEN {
            return Err(Error::InvalidKey {
                key: text,
                reason: "longer than 240 bytes",
            });
        }
        Ok(Self { text })
    }

    /// A key from its text form, `{namespace}/{service}/{component}/{name}`.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidKey`] when the text does not have four parts or a part breaks the rules
    /// of [`Key::new`].
    pub fn parse(text: &str) -> Result<Self> {
        let mut parts = text.split('/');
        match (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) {
            (Some(a), Some(b), Some(c), Some(d), None) => Self::new(a, b, c, d),
            _ => Err(Error::InvalidKey {
                key: text.to_owned(),
                reason: "a key has four parts separated by '/'",
            }),
        }
    }

    /// The key's text, `{namespace}/{service}/{component}/{name}`.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The first part.
    pub fn namespace(&self) -> &str {
        self.part(0)
    }

    /// The second part.
    pub fn service(&self) -> &str {
        self.part(1)
    }

    /// The third part.
    pub fn component(&self) -> &str {
        self.part(2)
    }

    /// The fourth part.
    pub fn name(&self) -> &str {
        self.part(3)
    }

    fn part(&self, index: usize) -> &str {
        // A `Key` always has four parts (checked on construction).
        self.text.split('/').nth(index).unwrap_or_default()
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// The keys of one service in one namespace: a factory of [`Key`]s and of the prefixes that
/// [`StateStore::keys`](crate::StateStore::keys) lists.
///
/// # Example
///
/// ```
/// use prescient_state::KeySpace;
///
/// let space = KeySpace::new("prod", "checkout")?;
/// assert_eq!(space.baseline("api")?.as_str(), "prod/checkout/api/baseline");
/// assert_eq!(space.prefix(), "prod/checkout/");
/// assert_eq!(space.component_prefix("api")?, "prod/checkout/api/");
/// # Ok::<(), prescient_state::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct KeySpace {
    namespace: String,
    service: String,
}

impl KeySpace {
    /// The key space of `service` in `namespace`.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidKey`] when a part breaks the rules of [`Key::new`].
    pub fn new(namespace: &str, service: &str) -> Result<Self> {
        check_part(namespace)?;
        check_part(service)?;
        Ok(Self {
            namespace: namespace.to_owned(),
            service: service.to_owned(),
        })
    }

    /// The key `name` of `component`.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidKey`] when a part breaks the rules of [`Key::new`] or the key is too
    /// long.
    pub fn key(&self, component: &str, name: &str) -> Result<Key> {
        Key::new(&self.namespace, &self.service, component, name)
    }

    /// The key of `component`'s shared baseline (name `baseline`), where replicas keep the
    /// `Scaler`'s snapshot of that component.
    ///
    /// # Errors
    ///
    /// As [`KeySpace::key`].
    pub fn baseline(&self, component: &str) -> Result<Key> {
        self.key(component, "baseline")
    }

    /// The key of the service's leader lease (component `_service`, name `leader`).
    pub fn leader(&self) -> Key {
        // The parts were checked in `new`, and the fixed ones are valid and short.
        Key {
            text: format!("{}/{}/_service/leader", self.namespace, self.service),
        }
    }

    /// The prefix of every key of this service, `{namespace}/{service}/`.
    pub fn prefix(&self) -> String {
        format!("{}/{}/", self.namespace, self.service)
    }

    /// The prefix of every key of `component`, `{namespace}/{service}/{component}/`.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidKey`] when `component` breaks the rules of [`Key::new`].
    pub fn component_prefix(&self, component: &str) -> Result<String> {
        check_part(component)?;
        Ok(format!("{}{component}/", self.prefix()))
    }
}

/// Checks one part of a key.
fn check_part(part: &str) -> Result<()> {
    let bad = |reason| {
        Err(Error::InvalidKey {
            key: part.to_owned(),
            reason,
        })
    };
    if part.is_empty() {
        return bad("a key part is empty");
    }
    if part.len() > MAX_PART_LEN {
        return bad("a key part is longer than 64 bytes");
    }
    if part.starts_with('.') {
        return bad("a key part starts with '.'");
    }
    if part.contains('/') {
        return bad("a key part contains '/'");
    }
    if !part.bytes().all(is_key_byte) {
        return bad("a key part holds a character other than ASCII letters, digits, '-', '_', '.'");
    }
    Ok(())
}

fn is_key_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.')
}

/// Checks a prefix given to `keys`: the start of a key's text, so the characters of a key and
/// `/`, at most [`MAX_KEY_LEN`] bytes.
pub(crate) fn check_prefix(prefix: &str) -> Result<()> {
    if prefix.len() > MAX_KEY_LEN {
        return Err(Error::InvalidKey {
            key: prefix.to_owned(),
            reason: "a prefix longer than 240 bytes matches no key",
        });
    }
    if !prefix.bytes().all(|b| is_key_byte(b) || b == b'/') {
        return Err(Error::InvalidKey {
            key: prefix.to_owned(),
            reason: "a prefix holds a character that no key has",
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn key_parts_round_trip() {
        let key = Key::new("ns", "svc", "comp", "name").unwrap();
        assert_eq!(key.as_str(), "ns/svc/comp/name");
        assert_eq!(
            (key.namespace(), key.service(), key.component(), key.name()),
            ("ns", "svc", "comp", "name")
        );
        assert_eq!(Key::parse(key.as_str()).unwrap(), key);
        assert_eq!(key.to_string(), "ns/svc/comp/name");
    }

    #[test]
    fn key_part_cannot_be_empty() {
        assert!(Key::new("ns", "", "c", "n").is_err());
        assert!(Key::parse("ns//c/n").is_err());
    }

    #[test]
    fn key_part_cannot_contain_a_slash() {
        let err = Key::new("ns", "a/b", "c", "n").unwrap_err();
        assert!(err.to_string().contains("'/'"), "{err}");
    }

    #[test]
    fn key_has_four_parts() {
        assert!(Key::parse("a/b/c").is_err());
        assert!(Key::parse("a/b/c/d/e").is_err());
        assert!(Key::parse("").is_err());
    }

    #[test]
    fn key_part_is_bounded() {
        let long = "x".repeat(MAX_PART_LEN + 1);
        assert!(Key::new("ns", &long, "c", "n").is_err());
        let max = "x".repeat(MAX_PART_LEN);
        // Four parts of 64 bytes are 259 bytes: too long as a whole.
        assert!(Key::new(&max, &max, &max, &max).is_err());
        assert!(Key::new(&max, &max, &max, "n").is_ok());
    }

    #[test]
    fn key_part_rejects_other_characters() {
        for part in [".hidden", "..", "a b", "a*", "é", "a\0", "a:b", "a\\b"] {
            assert!(Key::new("ns", part, "c", "n").is_err(), "{part:?}");
        }
        assert!(Key::new("ns", "a.b-c_D9", "c", "n").is_ok());
    }

    #[test]
    fn key_space_builds_keys_and_prefixes() {
        let space = KeySpace::new("ns", "svc").unwrap();
        assert_eq!(
            space.baseline("api").unwrap().as_str(),
            "ns/svc/api/baseline"
        );
        assert_eq!(space.leader().as_str(), "ns/svc/_service/leader");
        assert_eq!(Key::parse(space.leader().as_str()).unwrap(), space.leader());
        assert_eq!(space.component_prefix("api").unwrap(), "ns/svc/api/");
        assert!(space.component_prefix("a/b").is_err());
        assert!(KeySpace::new("", "svc").is_err());
    }

    #[test]
    fn prefix_is_checked() {
        assert!(check_prefix("").is_ok());
        assert!(check_prefix("ns/svc/").is_ok());
        assert!(check_prefix("ns/*").is_err());
        assert!(check_prefix(&"x".repeat(MAX_KEY_LEN + 1)).is_err());
    }
}
