//! What the integration tests share: a throwaway network namespace ("lab") to run underlay in,
//! and readers for iproute2's JSON output.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// A network namespace, a private run directory and a config file, removed on drop.
pub struct Lab {
    pub ns: String,
    pub dir: PathBuf,
}

impl Lab {
    /// A namespace holding veth pair `vp0`/`vp1` (vp0 is the usual parent).
    pub fn new() -> Option<Lab> {
        if !nix_is_root() {
            eprintln!("skipped: host tests need root (to create network namespaces)");
            return None;
        }
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let ns = format!("ult{}x{n}", std::process::id());
        let dir = std::env::temp_dir().join(&ns);
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        // underlay refuses configs others could change; don't depend on the caller's umask.
        set_mode(&dir, 0o755);
        sh(&["ip", "netns", "add", &ns]);
        let lab = Lab { ns, dir };
        lab.ip(&["link", "add", "vp0", "type", "veth", "peer", "name", "vp1"]);
        Some(lab)
    }

    pub fn ip(&self, args: &[&str]) -> String {
        let mut full = vec!["ip", "-n", &self.ns];
        full.extend_from_slice(args);
        sh(&full)
    }

    pub fn config(&self, text: &str) -> String {
        let path = self.dir.join("underlay.conf");
        std::fs::write(&path, text).unwrap();
        set_mode(&path, 0o644);
        path.to_string_lossy().into_owned()
    }

    pub fn command(&self, args: &[&str]) -> Command {
        // nsenter, not `ip netns exec`: the latter gives the command a mount namespace of its
        // own, so the /run/netns mounts that underlay makes for `netns =` would not be seen.
        let mut c = Command::new("nsenter");
        c.arg(format!("--net=/run/netns/{}", self.ns))
            .arg(env!("CARGO_BIN_EXE_underlay"))
            .args(args)
            .env("UNDERLAY_RUN_DIR", self.dir.join("run"))
            .env_remove("RUST_LOG");
        c
    }

    /// Run underlay with the lab's config.
    pub fn underlay(&self, args: &[&str]) -> Run {
        let config = self.dir.join("underlay.conf");
        let mut full = vec!["-c", config.to_str().unwrap()];
        full.extend_from_slice(args);
        Run::from(self.command(&full).output().unwrap())
    }

    /// `ip -d -j link show dev NAME`, or None if it does not exist.
    pub fn link(&self, name: &str) -> Option<String> {
        let out = Command::new("ip")
            .args(["-n", &self.ns, "-d", "-j", "link", "show", "dev", name])
            .output()
            .unwrap();
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
    }

    pub fn names(&self) -> Vec<String> {
        let out = self.ip(&["-j", "link", "show"]);
        out.split("\"ifname\":\"")
            .skip(1)
            .filter_map(|s| s.split('"').next())
            .map(str::to_string)
            .collect()
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.ns]).status();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

pub fn set_mode(path: &std::path::Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

pub fn nix_is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .map(|s| {
            s.lines()
                .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some("0"))
        })
        .unwrap_or(false)
}

pub fn sh(args: &[&str]) -> String {
    let out = Command::new(args[0]).args(&args[1..]).output().unwrap();
    assert!(
        out.status.success(),
        "{args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl From<Output> for Run {
    fn from(o: Output) -> Run {
        Run {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }
}

impl Run {
    pub fn all(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }
}

/// A JSON field of `ip -j` output, as text: `"mtu":1400` gives `1400`, `"address":"x"` gives `x`.
pub fn field(json: &str, key: &str) -> Option<String> {
    let start = json.find(&format!("\"{key}\":"))? + key.len() + 3;
    let rest = &json[start..];
    let value = if let Some(stripped) = rest.strip_prefix('"') {
        stripped.split('"').next()?
    } else {
        rest.split([',', '}']).next()?
    };
    Some(value.to_string())
}

pub fn ifindex(lab: &Lab, name: &str) -> String {
    field(&lab.link(name).unwrap(), "ifindex").unwrap()
}
