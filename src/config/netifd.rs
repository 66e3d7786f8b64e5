//! A read-only look at OpenWrt's `/etc/config/network`: the devices netifd takes charge of.
//! netifd takes over a PARENT.ID VLAN that exists already and deletes it on ifdown or
//! `service network restart`, deletes and re-creates its bridges, and at start sets every other
//! device it names down and clears its addresses and routes. A link underlay declares and
//! netifd also names is fought over, and underlay's links on it go with it; `validate` and
//! `apply` warn about each.
//!
//! The rules are netifd's own (openwrt/netifd: `config.c`, `interface.c`, `device.c`,
//! `bridge.c`, `vlan.c`, `vlandev.c`, `macvlan.c`, `veth.c`); `tests/boot/openwrt-network/`
//! holds sample files with the devices each names.

use std::collections::{BTreeSet, HashSet};

/// Where netifd's configuration lives; `UNDERLAY_NETIFD_CONFIG` points elsewhere (for tests).
pub fn config_path() -> std::path::PathBuf {
    std::env::var_os("UNDERLAY_NETIFD_CONFIG")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| "/etc/config/network".into())
}

/// One `config TYPE 'NAME'` section: its options and list entries, in order.
struct Section {
    kind: String,
    name: Option<String>,
    options: Vec<(String, String)>,
}

impl Section {
    fn get(&self, key: &str) -> Option<&str> {
        self.options
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Every value of `key`, list entries and space-separated words alike.
    fn words(&self, key: &str) -> Vec<&str> {
        self.options
            .iter()
            .filter(|(k, _)| k == key)
            .flat_map(|(_, v)| v.split_whitespace())
            .collect()
    }
}

/// A UCI value: quoted with `'` or `"`, or a bare word.
fn unquote(text: &str) -> String {
    let text = text.trim();
    for q in ['\'', '"'] {
        if let Some(inner) = text.strip_prefix(q).and_then(|t| t.strip_suffix(q)) {
            return inner.to_string();
        }
    }
    text.to_string()
}

fn sections(text: &str) -> Vec<Section> {
    let mut out: Vec<Section> = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (word, rest) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
        match word {
            "config" => {
                let (kind, name) = rest.trim().split_once(char::is_whitespace).unzip();
                let kind = kind.unwrap_or(rest.trim());
                out.push(Section {
                    kind: unquote(kind),
                    name: name.map(unquote),
                    options: Vec::new(),
                });
            }
            "option" | "list" => {
                let Some(section) = out.last_mut() else {
                    continue;
                };
                let (key, value) = rest
                    .trim()
                    .split_once(char::is_whitespace)
                    .unwrap_or((rest, ""));
                section.options.push((unquote(key), unquote(value)));
            }
            _ => {}
        }
    }
    out
}

/// The devices netifd takes charge of when it reads `text`.
pub fn devices(text: &str) -> BTreeSet<String> {
    let sections = sections(text);
    let mut named: Vec<String> = Vec::new();
    let mut aliases: HashSet<String> = HashSet::new();
    for s in &sections {
        if matches!(s.get("disabled"), Some("1" | "true" | "yes" | "on")) {
            continue;
        }
        match s.kind.as_str() {
            "device" => {
                named.extend(s.get("name").map(str::to_string));
                match s.get("type") {
                    Some("bridge") => {
                        let ports = s.words("ports");
                        let ports = if ports.is_empty() {
                            s.words("ifname")
                        } else {
                            ports
                        };
                        named.extend(ports.into_iter().map(str::to_string));
                    }
                    Some("8021q" | "8021ad" | "macvlan") => {
                        named.extend(s.get("ifname").map(str::to_string));
                    }
                    Some("veth") => named.extend(s.get("peer_name").map(str::to_string)),
                    _ => {}
                }
            }
            "interface" => {
                let devices = match s.get("device") {
                    Some(_) => s.words("device"),
                    None => s.words("ifname"),
                };
                let devices: Vec<&str> = devices
                    .into_iter()
                    .filter(|d| !d.starts_with('@'))
                    .collect();
                if s.get("type") == Some("bridge") {
                    if let Some(name) = &s.name {
                        named.push(format!("br-{name}"));
                    }
                    let ports = s.words("ports");
                    let ports = if ports.is_empty() { devices } else { ports };
                    named.extend(ports.into_iter().map(str::to_string));
                } else {
                    named.extend(devices.into_iter().map(str::to_string));
                }
            }
            "bridge-vlan" => {
                named.extend(s.get("device").map(str::to_string));
                for port in s.words("ports") {
                    named.push(port.split(':').next().unwrap_or(port).to_string());
                }
                aliases.extend(s.words("alias").into_iter().map(str::to_string));
            }
            _ => {}
        }
    }
    let mut out = BTreeSet::new();
    for name in named {
        // A VLAN netifd makes (`eth0.10`, `br-lan.3`, `eth0.100.200`): its parents are its too.
        let mut cur = name.as_str();
        while let Some((parent, id)) = cur.rsplit_once('.') {
            let vlan = !parent.is_empty()
                && ((!id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()))
                    || aliases.contains(id));
            if !vlan {
                break;
            }
            out.insert(parent.to_string());
            cur = parent;
        }
        out.insert(name);
    }
    out
}

/// The links `names` holds that netifd also takes charge of, per the file at `path`; none if
/// there is no such file (not OpenWrt). The words are the report's (`report::netifd_overlap`).
pub fn overlaps<'a>(path: &std::path::Path, names: impl Iterator<Item = &'a str>) -> Vec<String> {
    use std::io::Read as _;
    let Ok(file) = std::fs::File::open(path) else {
        return Vec::new();
    };
    let mut text = String::new();
    if file.take(1 << 20).read_to_string(&mut text).is_err() {
        return Vec::new();
    }
    let theirs = devices(&text);
    names
        .filter(|n| theirs.contains(*n))
        .map(str::to_string)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The samples in tests/boot/openwrt-network, each with the devices it names.
    #[test]
    fn the_samples_name_the_devices_their_lists_say() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/boot/openwrt-network");
        let mut seen = 0;
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_none_or(|x| x != "network") {
                continue;
            }
            seen += 1;
            let text = std::fs::read_to_string(&path).unwrap();
            let want: BTreeSet<String> = std::fs::read_to_string(path.with_extension("devices"))
                .unwrap()
                .lines()
                .map(str::to_string)
                .collect();
            assert_eq!(devices(&text), want, "{}", path.display());
        }
        assert!(seen >= 4, "{seen} samples");
    }
}
