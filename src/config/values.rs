//! Parsers for single values. Each returns a message that says what is wrong and what would be
//! right; the caller adds file, line, section and key.

/// yes/no, true/false, on/off, 1/0, as systemd and OpenWrt accept them.
pub fn boolean(text: &str) -> Result<bool, String> {
    match text.to_ascii_lowercase().as_str() {
        "yes" | "true" | "on" | "1" => Ok(true),
        "no" | "false" | "off" | "0" => Ok(false),
        _ => Err(format!(
            "`{text}` is not a boolean; write yes or no (true/false, on/off and 1/0 work too)"
        )),
    }
}

/// A plain decimal number in `min..=max`. Signs, hex and leading zeros are refused, because
/// `010` or `0x10` mean different numbers to different tools.
pub fn number(text: &str, min: u64, max: u64) -> Result<u64, String> {
    if text.is_empty() {
        return Err(format!("a number is missing; give one in {min}..{max}"));
    }
    if let Some(rest) = text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        let hint = u64::from_str_radix(rest, 16)
            .map(|n| format!(" ({n} in decimal)"))
            .unwrap_or_default();
        return Err(format!(
            "`{text}` is hexadecimal; write the number in decimal{hint}"
        ));
    }
    if !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!(
            "`{text}` is not a whole number; give one in {min}..{max}"
        ));
    }
    if text.len() > 1 && text.starts_with('0') {
        let trimmed = text.trim_start_matches('0');
        let plain = if trimmed.is_empty() { "0" } else { trimmed };
        return Err(format!("`{text}` has a leading zero; write `{plain}`"));
    }
    match text.parse::<u64>() {
        Ok(n) if (min..=max).contains(&n) => Ok(n),
        _ => Err(format!("{text} is out of range {min}..{max}")),
    }
}

/// Interface names as the kernel takes them (`dev_valid_name`): 1 to 15 bytes, not `.` or `..`,
/// and no `/`, `:` or white space.
pub fn ifname(text: &str) -> Result<(), String> {
    if text.is_empty() {
        return Err("an interface name is missing; write one, e.g. `eth0`".into());
    }
    if text.len() > 15 {
        return Err(format!(
            "interface name `{text}` is {} bytes long; the kernel allows at most 15",
            text.len()
        ));
    }
    if text == "." || text == ".." {
        return Err(format!("`{text}` cannot be an interface name"));
    }
    if let Some(c) = text
        .chars()
        .find(|c| *c == '/' || *c == ':' || c.is_whitespace() || c.is_control())
    {
        return Err(format!(
            "interface name `{text}` contains {}; names may not contain `/`, `:` or white space",
            match c {
                '/' | ':' => format!("`{c}`"),
                _ => "white space".to_string(),
            }
        ));
    }
    Ok(())
}

/// "a vlan", "an ipvlan": the kind's name with its article.
pub fn a(name: &str) -> String {
    let article = if name.starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    };
    format!("{article} {name}")
}

/// The closest word to `word` in `candidates`, if it is close enough to be a likely typo.
pub fn closest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (edit_distance(word, c), c))
        .filter(|(d, c)| *d <= 2.max(c.len() / 3) && *d < c.len())
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = if ca == *cb {
                prev
            } else {
                1 + prev.min(row[j]).min(cur)
            };
            prev = cur;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn booleans() {
        for t in ["yes", "true", "on", "1", "YES"] {
            assert_eq!(boolean(t), Ok(true));
        }
        for f in ["no", "false", "off", "0"] {
            assert_eq!(boolean(f), Ok(false));
        }
        assert!(boolean("maybe").unwrap_err().contains("write yes or no"));
    }

    #[test]
    fn numbers() {
        assert_eq!(number("10", 1, 4094), Ok(10));
        assert_eq!(
            number("4095", 1, 4094).unwrap_err(),
            "4095 is out of range 1..4094"
        );
        assert_eq!(
            number("0", 1, 4094).unwrap_err(),
            "0 is out of range 1..4094"
        );
        assert!(
            number("-1", 1, 4094)
                .unwrap_err()
                .contains("not a whole number")
        );
        assert_eq!(
            number("010", 1, 4094).unwrap_err(),
            "`010` has a leading zero; write `10`"
        );
        assert_eq!(
            number("0x10", 1, 4094).unwrap_err(),
            "`0x10` is hexadecimal; write the number in decimal (16 in decimal)"
        );
        assert!(
            number("ten", 1, 4094)
                .unwrap_err()
                .contains("not a whole number")
        );
        assert!(
            number("99999999999999999999999", 1, 4094)
                .unwrap_err()
                .contains("out of range")
        );
    }

    #[test]
    fn interface_names() {
        assert!(ifname("eth0.10").is_ok());
        assert!(ifname("").is_err());
        assert!(ifname("abcdefghijklmnop").unwrap_err().contains("16 bytes"));
        assert!(ifname("a/b").unwrap_err().contains("`/`"));
        assert!(ifname("a:b").unwrap_err().contains("`:`"));
        assert!(ifname("..").is_err());
    }

    #[test]
    fn suggestions() {
        assert_eq!(closest("mdoe", ["mode", "mtu", "mac"]), Some("mode"));
        assert_eq!(closest("protocl", ["protocol", "id"]), Some("protocol"));
        assert_eq!(closest("zzzzzz", ["mode", "mtu"]), None);
    }
}
