//! Config errors: every one names the file, the line, the section and key it is about, what is
//! wrong and what would be right, e.g.
//! `underlay.conf:12: [vlan eth0.4095] id: 4095 is out of range 1..4094`.

use std::fmt::Write as _;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The file it is about, where a config is read from several (a drop-in); `None`: the one
    /// the caller names when it renders.
    pub file: Option<String>,
    /// The file's place among the config's files, for ordering.
    pub file_order: usize,
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
            file: None,
            file_order: 0,
            line: None,
            section: None,
            key: None,
            message,
        }
    }

    pub fn at(line: usize, message: String) -> Self {
        ConfigError {
            file: None,
            file_order: 0,
            line: Some(line),
            section: None,
            key: None,
            message,
        }
    }

    pub fn in_section(line: usize, section: &str, key: Option<&str>, message: String) -> Self {
        ConfigError {
            file: None,
            file_order: 0,
            line: Some(line),
            section: Some(section.to_string()),
            key: key.map(str::to_string),
            message,
        }
    }

    /// `FILE:LINE: [section] key: message`; `file` unless the error names its own.
    pub fn render(&self, file: &str) -> String {
        let mut out = String::from(self.file.as_deref().unwrap_or(file));
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

/// All problems found in a config's files, in file and line order. A config is only accepted
/// when this is empty.
#[derive(Debug, Default)]
pub struct Problems {
    found: Vec<ConfigError>,
    not_shown: usize,
    /// The file problems pushed now are about: its place and its name.
    current: (usize, Option<String>),
    /// Every file of the config, by place (`None`: the one the caller names).
    files: Vec<Option<String>>,
}

impl Problems {
    /// Past this many, more errors are noise (usually a file that is not a config at all).
    const MAX: usize = 50;

    /// Problems for a config read from these files, in this order.
    pub fn for_files(files: Vec<Option<String>>) -> Problems {
        Problems {
            current: (0, files.first().cloned().flatten()),
            files,
            ..Problems::default()
        }
    }

    /// Problems pushed from now on are about the `order`-th file.
    pub fn in_file(&mut self, order: usize) {
        self.current = (order, self.files.get(order).cloned().flatten());
    }

    /// Where a line of the `order`-th file is, as a message says it: `line 12`, or
    /// `other.conf:12` for a line in another file than the current one.
    pub fn place(&self, order: usize, line: usize) -> String {
        match self.files.get(order).cloned().flatten() {
            Some(path) if order != self.current.0 => format!("{path}:{line}"),
            _ if order != self.current.0 => format!("line {line} of the main file"),
            _ => format!("line {line}"),
        }
    }

    pub fn push(&mut self, mut error: ConfigError) {
        if error.file.is_none() {
            error.file_order = self.current.0;
            error.file = self.current.1.clone();
        }
        if self.found.len() < Self::MAX {
            self.found.push(error);
        } else {
            self.not_shown += 1;
        }
    }

    pub fn len(&self) -> usize {
        self.found.len()
    }

    pub fn is_empty(&self) -> bool {
        self.found.is_empty()
    }

    #[cfg(test)]
    pub fn iter(&self) -> impl Iterator<Item = &ConfigError> {
        self.found.iter()
    }

    pub fn into_sorted(mut self) -> Vec<ConfigError> {
        self.found
            .sort_by_key(|e| (e.file_order, e.line.unwrap_or(0)));
        if self.not_shown > 0 {
            let more = ConfigError::file(format!(
                "the file has {} more problems, not shown; fix these first (is it really an underlay config?)",
                self.not_shown
            ));
            self.found.push(more);
        }
        self.found
    }
}
