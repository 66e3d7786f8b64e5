//! Config errors: every one names the file, the line, the section and key it is about, what is
//! wrong and what would be right, e.g.
//! `underlay.conf:12: [vlan eth0.4095] id: 4095 is out of range 1..4094`.

use std::fmt::Write as _;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// 1-based line, or `None` for problems with the file as a whole.
    pub line: Option<usize>,
    /// The section label, e.g. `[vlan eth0.10]`.
    pub section: Option<String>,
    pub key: Option<String>,
    pub message: String,
}

impl ConfigError {
    pub fn file(message: String) -> Self {
        ConfigError {
            line: None,
            section: None,
            key: None,
            message,
        }
    }

    pub fn at(line: usize, message: String) -> Self {
        ConfigError {
            line: Some(line),
            section: None,
            key: None,
            message,
        }
    }

    pub fn in_section(line: usize, section: &str, key: Option<&str>, message: String) -> Self {
        ConfigError {
            line: Some(line),
            section: Some(section.to_string()),
            key: key.map(str::to_string),
            message,
        }
    }

    /// `FILE:LINE: [section] key: message`
    pub fn render(&self, file: &str) -> String {
        let mut out = String::from(file);
        if let Some(line) = self.line {
            let _ = write!(out, ":{line}");
        }
        out.push_str(": ");
        if let Some(section) = &self.section {
            out.push_str(section);
            out.push(' ');
        }
        if let Some(key) = &self.key {
            out.push_str(key);
            out.push_str(": ");
        }
        out.push_str(&self.message);
        out
    }
}

/// All problems found in one file, in line order. A config is only accepted when this is empty.
#[derive(Debug, Default)]
pub struct Problems(Vec<ConfigError>, usize);

impl Problems {
    /// Past this many, more errors are noise (usually a file that is not a config at all).
    const MAX: usize = 50;

    pub fn push(&mut self, error: ConfigError) {
        if self.0.len() < Self::MAX {
            self.0.push(error);
        } else {
            self.1 += 1;
        }
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    #[cfg(test)]
    pub fn iter(&self) -> impl Iterator<Item = &ConfigError> {
        self.0.iter()
    }

    pub fn into_sorted(mut self) -> Vec<ConfigError> {
        self.0.sort_by_key(|e| e.line.unwrap_or(0));
        if self.1 > 0 {
            self.0.push(ConfigError::file(format!(
                "the file has {} more problems, not shown; fix these first (is it really an underlay config?)",
                self.1
            )));
        }
        self.0
    }
}
