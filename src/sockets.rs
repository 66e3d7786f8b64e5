//! The netlink sockets of one run: the one in the namespace underlay runs in, and one opened
//! inside each named namespace it works in (entered with setns and left again, single-threaded).

use std::collections::BTreeMap;
use std::time::Instant;

use crate::error::{Doing, Error};
use crate::live::{LiveLink, Snapshot};
use crate::netlink::{KernelError, Request, Rtnl};
use crate::netns::{self, Namespace};

pub struct Sockets {
    pub host: Rtnl,
    /// The namespace underlay runs in, open, for asking others what id they give it.
    pub host_ns: Namespace,
    pub named: BTreeMap<String, (Namespace, Rtnl)>,
}

impl Sockets {
    pub fn new(host: Rtnl) -> Result<Sockets, Error> {
        let mut host_ns = netns::current()?;
        host_ns.identity.cookie = host.netns_cookie();
        Ok(Sockets {
            host,
            host_ns,
            named: BTreeMap::new(),
        })
    }

    /// Open a socket inside `ns` (entering it and coming back) and keep both. The socket tells
    /// the namespace's cookie, which completes its identity.
    pub fn add_namespace(&mut self, mut ns: Namespace) -> Result<&mut Rtnl, Error> {
        let name = ns.name.clone();
        let rtnl = netns::enter(&ns, Rtnl::open)?
            .doing(&format!("opening a netlink socket in netns {name}"))?;
        ns.identity.cookie = rtnl.netns_cookie();
        let entry = self.named.entry(name).or_insert((ns, rtnl));
        Ok(&mut entry.1)
    }

    /// The identity of a named namespace underlay has open.
    pub fn identity(&self, name: &str) -> Option<crate::netns::Identity> {
        self.named.get(name).map(|(ns, _)| ns.identity)
    }

    /// The inodes of underlay's sockets, each proof of its namespace (see `Rtnl::inode`).
    pub fn socket_inodes(&self) -> Vec<u64> {
        std::iter::once(&self.host)
            .chain(self.named.values().map(|(_, r)| r))
            .filter_map(Rtnl::inode)
            .collect()
    }

    /// Close the socket of a named namespace (before the namespace is deleted).
    pub fn remove_namespace(&mut self, name: &str) {
        self.named.remove(name);
    }

    pub fn socket(&mut self, netns: Option<&str>) -> Option<&mut Rtnl> {
        match netns {
            None => Some(&mut self.host),
            Some(name) => self.named.get_mut(name).map(|(_, r)| r),
        }
    }

    /// A fresh link snapshot of `netns`, if underlay has a socket there.
    pub fn snapshot(
        &mut self,
        netns: Option<&str>,
        deadline: Instant,
    ) -> Result<Option<Snapshot>, Error> {
        let Some(socket) = self.socket(netns) else {
            return Ok(None);
        };
        Snapshot::take(socket, deadline)
            .map(Some)
            .doing(&reading_link_table(netns))
    }

    /// The links of `netns` in netdev group `group` now, if underlay has a socket there.
    pub fn links_in_group(
        &mut self,
        netns: Option<&str>,
        group: u32,
        deadline: Instant,
    ) -> Result<Option<Vec<LiveLink>>, Error> {
        let Some(socket) = self.socket(netns) else {
            return Ok(None);
        };
        Snapshot::in_group(socket, group, deadline)
            .map(Some)
            .doing(&reading_link_table(netns))
    }

    /// The open descriptor of a named namespace, for creating links straight into it.
    pub fn namespace_fd(&self, netns: Option<&str>) -> Option<i32> {
        netns
            .and_then(|n| self.named.get(n))
            .map(|(ns, _)| ns.raw_fd())
    }

    /// Execute requests that each belong to a namespace: one pipelined batch per namespace, the
    /// results in the order of `items`.
    pub fn execute(
        &mut self,
        items: Vec<(Option<String>, Request)>,
        deadline: Instant,
    ) -> Result<Vec<Result<(), KernelError>>, Error> {
        let mut groups: BTreeMap<Option<String>, (Vec<usize>, Vec<Request>)> = BTreeMap::new();
        let total = items.len();
        for (i, (ns, request)) in items.into_iter().enumerate() {
            let group = groups.entry(ns).or_default();
            group.0.push(i);
            group.1.push(request);
        }
        let mut results: Vec<Result<(), KernelError>> = vec![Ok(()); total];
        for (ns, (positions, requests)) in groups {
            let answers = match self.socket(ns.as_deref()) {
                Some(socket) => socket.execute(&requests, deadline).doing(&format!(
                    "sending {} to the kernel",
                    crate::report::count(requests.len(), "request")
                ))?,
                // The namespace could not be opened: each request fails on its own.
                None => vec![
                    Err(KernelError {
                        errno: libc::ENOENT,
                        message: Some(format!(
                            "netns {} is not open",
                            ns.as_deref().unwrap_or("?")
                        )),
                    });
                    requests.len()
                ],
            };
            for (position, answer) in positions.into_iter().zip(answers) {
                results[position] = answer;
            }
        }
        Ok(results)
    }
}

/// What a failed link dump of `netns` was doing, for its error.
fn reading_link_table(netns: Option<&str>) -> String {
    match netns {
        None => "reading the link table".to_string(),
        Some(n) => format!("reading the link table of netns {n}"),
    }
}
