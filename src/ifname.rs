//! Interface names as the kernel has them: bytes, not text. The kernel takes any byte but `/`,
//! `:`, NUL and white space, so a foreign link may be named `a\xff`. underlay compares names
//! byte for byte (a config naming `a\u{FFFD}` is not `a\xff`) and shows odd bytes escaped.

use std::fmt;

#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct IfName(Box<[u8]>);

impl IfName {
    pub fn new(bytes: &[u8]) -> IfName {
        IfName(bytes.into())
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The name as text, if it is valid UTF-8 (every name a config can hold is).
    pub fn as_str(&self) -> Option<&str> {
        std::str::from_utf8(&self.0).ok()
    }

    pub fn is(&self, name: &str) -> bool {
        &*self.0 == name.as_bytes()
    }
}

impl From<&str> for IfName {
    fn from(name: &str) -> IfName {
        IfName::new(name.as_bytes())
    }
}

impl std::borrow::Borrow<[u8]> for IfName {
    fn borrow(&self) -> &[u8] {
        &self.0
    }
}

/// Printable ASCII and valid UTF-8 letters as they are; any other byte as `\xNN`.
impl fmt::Display for IfName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for chunk in self.0.utf8_chunks() {
            for c in chunk.valid().chars() {
                if c.is_control() || c == '\\' {
                    for b in c.encode_utf8(&mut [0; 4]).bytes() {
                        write!(f, "\\x{b:02x}")?;
                    }
                } else {
                    write!(f, "{c}")?;
                }
            }
            for b in chunk.invalid() {
                write!(f, "\\x{b:02x}")?;
            }
        }
        Ok(())
    }
}

impl fmt::Debug for IfName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "\"{self}\"")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_bytes_and_shown_without_loss() {
        let odd = IfName::new(b"a\xff");
        assert!(!odd.is("a\u{FFFD}"));
        assert_eq!(odd.to_string(), "a\\xff");
        assert_eq!(odd.as_str(), None);
        assert_eq!(IfName::from("caf\u{e9}").to_string(), "caf\u{e9}");
        assert!(IfName::from("eth0").is("eth0"));
    }
}
