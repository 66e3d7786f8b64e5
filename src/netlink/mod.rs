//! The rtnetlink socket: blocking, single-threaded, on neli's `NlSocketHandle`.
//!
//! Requests are pipelined: a whole batch is sent before any acknowledgement is read, and each
//! acknowledgement is matched to its request by sequence number. Replies are only accepted from
//! the kernel (sender port 0), addressed to this socket, with a sequence number we sent; the
//! kernel's extended-ACK text is kept for error messages.

pub mod addr;
pub mod attr;
pub mod link;
pub mod route;

use std::fmt;
#[cfg(test)]
use std::io::Cursor;
use std::os::fd::{AsRawFd, BorrowedFd};
use std::time::Instant;

use neli::{
    ToBytes,
    consts::{nl::NlmF, rtnl::Rtm, socket::NlFamily},
    nl::{NlPayload, NlmsghdrBuilder},
    rtnl::{Ifaddrmsg, Ifinfomsg, Rtmsg},
    socket::synchronous::NlSocketHandle,
    types::Buffer,
    utils::Groups,
};
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};

#[derive(Debug)]
pub enum NetlinkError {
    /// The socket itself failed (open, send, receive).
    Io(&'static str, std::io::Error),
    /// The kernel refused a request.
    Kernel(KernelError),
    /// No answer before the deadline.
    Timeout,
    /// A reply did not fit the receive buffer; the buffer has grown, try again.
    Truncated,
    /// A dump changed while it was read (`NLM_F_DUMP_INTR`); read it again.
    Interrupted,
    /// The kernel dropped messages for this socket (`ENOBUFS`): what it has seen is stale.
    Overflow,
    Encode(String),
    Decode(String),
}

impl fmt::Display for NetlinkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NetlinkError::Io(what, e) => write!(f, "netlink {what}: {e}"),
            NetlinkError::Kernel(e) => write!(f, "{e}"),
            NetlinkError::Timeout => write!(f, "the kernel did not answer in time"),
            NetlinkError::Truncated => {
                write!(f, "a netlink reply was larger than the receive buffer")
            }
            NetlinkError::Interrupted => write!(f, "the link table changed while it was read"),
            NetlinkError::Overflow => write!(f, "the kernel dropped messages for this socket"),
            NetlinkError::Encode(e) => write!(f, "could not encode a netlink message: {e}"),
            NetlinkError::Decode(e) => write!(f, "could not decode a netlink message: {e}"),
        }
    }
}

impl std::error::Error for NetlinkError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            NetlinkError::Io(_, e) => Some(e),
            NetlinkError::Kernel(e) => Some(e),
            _ => None,
        }
    }
}

/// A negative acknowledgement: the errno and the kernel's own words, if it gave any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KernelError {
    pub errno: i32,
    pub message: Option<String>,
}

impl std::error::Error for KernelError {}

impl fmt::Display for KernelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = std::io::Error::from_raw_os_error(self.errno).to_string();
        // Rust appends " (os error N)"; the errno name is noise for users.
        let text = text.split(" (os error").next().unwrap_or(&text);
        match &self.message {
            Some(m) => write!(f, "{text} (kernel: {m})"),
            None => write!(f, "{text}"),
        }
    }
}

/// `NLMSGERR_ATTR_*`: the extended-ACK attributes after an error's copy of the request.
#[neli::neli_enum(serialized_type = "u16")]
pub enum ExtAckAttr {
    Unused = 0,
    Msg = 1,
    Offset = 2,
    Cookie = 3,
    Policy = 4,
    MissType = 5,
    MissNest = 6,
}
impl neli::consts::rtnl::RtaType for ExtAckAttr {}

/// One message to the kernel.
pub struct Request {
    pub kind: Rtm,
    pub flags: NlmF,
    pub body: Body,
}

pub enum Body {
    Link(Ifinfomsg),
    Addr(Ifaddrmsg),
    Route(Rtmsg),
    /// A body neli has no type for (`struct rtgenmsg` with attributes), as bytes.
    Raw(Buffer),
}

/// One message from the kernel, as raw parts; the payload is decoded by whoever asked.
#[derive(Debug, Clone)]
pub struct Message {
    pub kind: u16,
    pub flags: u16,
    pub seq: u32,
    pub port: u32,
    pub payload: Vec<u8>,
}

impl Message {
    pub fn borrowed(&self) -> MessageRef<'_> {
        MessageRef {
            kind: self.kind,
            flags: self.flags,
            seq: self.seq,
            port: self.port,
            payload: &self.payload,
        }
    }
}

/// One message as it lies in the datagram it came in. A dump of a thousand links is decoded
/// where it was received, without a copy (and an allocation) per message.
#[derive(Debug, Clone, Copy)]
pub struct MessageRef<'a> {
    pub kind: u16,
    pub flags: u16,
    pub seq: u32,
    pub port: u32,
    pub payload: &'a [u8],
}

impl MessageRef<'_> {
    pub fn to_message(&self) -> Message {
        Message {
            kind: self.kind,
            flags: self.flags,
            seq: self.seq,
            port: self.port,
            payload: self.payload.to_vec(),
        }
    }
}

const NLMSG_HDRLEN: usize = 16;
const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;
const NLM_F_DUMP_INTR: u16 = 1 << 4;
const NLM_F_CAPPED: u16 = 0x100;
const NLM_F_ACK_TLVS: u16 = 0x200;
/// `RTNLGRP_LINK`: link creation, change and removal events.
pub const RTNLGRP_LINK: u32 = 1;

/// Big enough for any dump datagram the kernel sends to a reader with this buffer; it grows if
/// the kernel ever truncates one anyway.
const INITIAL_RECV_BUFFER: usize = 64 * 1024;
/// The socket's receive queue: room for a few thousand acknowledgements of a pipelined batch.
const SOCKET_RECV_BUFFER: usize = 1024 * 1024;
/// Requests in flight at once. Each acknowledgement costs about a kilobyte of receive queue
/// (its buffer's true size), and the queue is capped by `net.core.rmem_max` (208 KiB by default).
const WINDOW: usize = 64;

pub struct Rtnl {
    socket: NlSocketHandle,
    next_seq: u32,
    buffer: Vec<u8>,
}

impl Rtnl {
    /// A socket for requests and dumps.
    pub fn open() -> Result<Rtnl, NetlinkError> {
        Self::connect(Groups::empty())
    }

    /// A socket that receives link events. Open it before dumping, so nothing that happens
    /// between the dump and the wait is missed.
    pub fn open_link_events() -> Result<Rtnl, NetlinkError> {
        Self::connect(Groups::new_groups(&[RTNLGRP_LINK]))
    }

    fn connect(groups: Groups) -> Result<Rtnl, NetlinkError> {
        let io = |what| {
            move |e: neli::err::SocketError| {
                NetlinkError::Io(what, std::io::Error::other(e.to_string()))
            }
        };
        let socket =
            NlSocketHandle::connect(NlFamily::Route, None, groups).map_err(io("socket"))?;
        socket.enable_ext_ack(true).map_err(io("NETLINK_EXT_ACK"))?;
        // Strict checking makes the kernel refuse malformed requests instead of guessing; kernels
        // before 4.20 lack it, and lose nothing else.
        if let Err(e) = socket.enable_strict_checking(true) {
            log::debug!("NETLINK_GET_STRICT_CHK not available: {e}");
        }
        socket
            .set_recv_buffer_size(SOCKET_RECV_BUFFER)
            .map_err(io("SO_RCVBUF"))?;
        Ok(Rtnl {
            socket,
            next_seq: std::process::id().wrapping_shl(12),
            buffer: vec![0; INITIAL_RECV_BUFFER],
        })
    }

    /// The socket's netlink port id.
    pub fn port(&self) -> u32 {
        self.socket.pid()
    }

    /// The socket's inode. `/proc/PID/net/netlink` lists every bound netlink socket of the
    /// namespace PID lives in, so finding this inode there proves PID lives in this socket's
    /// namespace, without the ptrace access `/proc/PID/ns/net` needs.
    pub fn inode(&self) -> Option<u64> {
        use std::os::unix::fs::MetadataExt;
        std::fs::metadata(format!("/proc/self/fd/{}", self.socket.as_raw_fd()))
            .ok()
            .map(|m| m.ino())
    }

    /// `SO_NETNS_COOKIE` (Linux 5.14): an id of the socket's namespace the kernel never reuses.
    pub fn netns_cookie(&self) -> Option<u64> {
        crate::netns::socket_cookie(self.socket.as_raw_fd())
    }

    /// The id this socket's namespace gives another (`RTM_GETNSID`): the `IFLA_LINK_NETNSID`
    /// its links use for a lower device there. `None` when it gives it none.
    pub fn nsid_of(
        &mut self,
        other: NsSelector,
        deadline: Instant,
    ) -> Result<Option<i32>, NetlinkError> {
        let request = nsid_request(Rtm::Getnsid, other, None)?;
        let mut nsid = None;
        self.dump_each(&request, Rtm::Newnsid, deadline, |payload| {
            for a in attr::attrs(payload.get(4..).unwrap_or_default()) {
                let a = a?;
                if a.kind == NETNSA_NSID {
                    nsid = Some(attr::read_i32(a.payload)?).filter(|id| *id >= 0);
                }
            }
            Ok(())
        })?;
        Ok(nsid)
    }

    /// Have this socket's namespace give `other` an id (`RTM_NEWNSID`, the kernel picks it), as
    /// `ip netns set NAME auto` does: the kernel's bookkeeping, which lets underlay read the
    /// links of a namespace it cannot enter (`IFLA_TARGET_NETNSID`).
    pub fn assign_nsid(
        &mut self,
        other: NsSelector,
        deadline: Instant,
    ) -> Result<(), NetlinkError> {
        let request = nsid_request(Rtm::Newnsid, other, Some(-1))?;
        match self
            .execute(std::slice::from_ref(&request), deadline)?
            .pop()
        {
            Some(Err(e)) if e.errno != libc::EEXIST => Err(NetlinkError::Kernel(e)),
            _ => Ok(()),
        }
    }

    /// The sequence number the next request will carry (for tests that forge replies).
    pub fn next_sequence(&self) -> u32 {
        self.next_seq.wrapping_add(1).max(1)
    }

    fn send(&mut self, request: &Request) -> Result<u32, NetlinkError> {
        static FIRST: std::sync::Once = std::sync::Once::new();
        FIRST.call_once(|| {
            if let Some(t) = crate::since_start() {
                log::debug!("first netlink message {} µs after start", t.as_micros());
            }
        });
        self.next_seq = self.next_seq.wrapping_add(1).max(1);
        let seq = self.next_seq;
        log::trace!(
            "send {:?} flags {:?} seq {seq} port {}",
            request.kind,
            request.flags | NlmF::REQUEST,
            self.port()
        );
        let result = match &request.body {
            Body::Link(m) => self.send_one(request, seq, m.clone()),
            Body::Addr(m) => self.send_one(request, seq, m.clone()),
            Body::Route(m) => self.send_one(request, seq, m.clone()),
            Body::Raw(m) => self.send_one(request, seq, m.clone()),
        };
        result.map(|_| seq)
    }

    fn send_one<P: neli::Size + ToBytes + fmt::Debug>(
        &self,
        request: &Request,
        seq: u32,
        body: P,
    ) -> Result<(), NetlinkError> {
        let message = NlmsghdrBuilder::default()
            .nl_type(request.kind)
            .nl_flags(request.flags | NlmF::REQUEST)
            .nl_seq(seq)
            .nl_payload(NlPayload::Payload(body))
            .build()
            .map_err(|e| NetlinkError::Encode(e.to_string()))?;
        self.socket
            .send(&message)
            .map_err(|e| NetlinkError::Io("send", std::io::Error::other(e.to_string())))
    }

    /// Wait until a datagram is readable or the deadline passes.
    fn wait_readable(&self, deadline: Instant) -> Result<bool, NetlinkError> {
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let millis = u16::try_from(left.as_millis()).unwrap_or(u16::MAX);
            // SAFETY: the descriptor belongs to `self.socket`, which outlives this borrow.
            let fd = unsafe { BorrowedFd::borrow_raw(self.socket.as_raw_fd()) };
            let mut fds = [PollFd::new(fd, PollFlags::POLLIN)];
            match poll(&mut fds, PollTimeout::from(millis)) {
                Ok(0) if left.is_zero() => return Ok(false),
                Ok(0) => continue,
                Ok(_) => return Ok(true),
                Err(nix::errno::Errno::EINTR) => continue,
                Err(e) => return Err(NetlinkError::Io("poll", e.into())),
            }
        }
    }

    /// Receive one datagram from the kernel and split it into messages. Datagrams from any other
    /// sender are dropped.
    fn receive(&mut self, deadline: Instant) -> Result<Vec<Message>, NetlinkError> {
        let n = self.receive_datagram(deadline)?;
        split_messages(&self.buffer[..n])
    }

    /// Read one datagram from the kernel into `self.buffer`; its length. `messages` splits it.
    fn receive_datagram(&mut self, deadline: Instant) -> Result<usize, NetlinkError> {
        // Try to read first and poll only when nothing is queued: acknowledgements of a
        // pipelined batch are usually waiting already, so this saves a syscall per reply.
        let mut must_wait = false;
        loop {
            if must_wait && !self.wait_readable(deadline)? {
                return Err(NetlinkError::Timeout);
            }
            must_wait = true;
            // SAFETY: an all-zero sockaddr_nl is a valid value of that plain C struct.
            let mut sender: libc::sockaddr_nl = unsafe { std::mem::zeroed() };
            let mut sender_len = std::mem::size_of::<libc::sockaddr_nl>() as libc::socklen_t;
            // SAFETY: the buffer pointer and length describe `self.buffer`, and the address
            // pointer and length describe `sender`; all live across the call.
            let n = unsafe {
                libc::recvfrom(
                    self.socket.as_raw_fd(),
                    self.buffer.as_mut_ptr().cast(),
                    self.buffer.len(),
                    libc::MSG_TRUNC | libc::MSG_DONTWAIT,
                    (&raw mut sender).cast(),
                    &mut sender_len,
                )
            };
            if n < 0 {
                let e = std::io::Error::last_os_error();
                match e.raw_os_error() {
                    Some(libc::EINTR) => {
                        must_wait = false;
                        continue;
                    }
                    Some(libc::EAGAIN) => continue,
                    // The kernel dropped messages for us: callers that care re-dump.
                    Some(libc::ENOBUFS) => return Err(NetlinkError::Overflow),
                    _ => return Err(NetlinkError::Io("receive", e)),
                }
            }
            let n = n as usize;
            if n > self.buffer.len() {
                self.buffer.resize(n.next_power_of_two(), 0);
                return Err(NetlinkError::Truncated);
            }
            if sender.nl_pid != 0 {
                log::debug!(
                    "ignoring a netlink datagram from port {}, not the kernel",
                    sender.nl_pid
                );
                continue;
            }
            if log::log_enabled!(log::Level::Trace) {
                for m in messages(&self.buffer[..n]).flatten() {
                    log::trace!(
                        "receive type {} flags {:#x} seq {} port {} ({} bytes){}",
                        m.kind,
                        m.flags,
                        m.seq,
                        m.port,
                        m.payload.len(),
                        trace_errno(&m)
                    );
                }
            }
            return Ok(n);
        }
    }

    /// Send every request, then collect one result per request, in order. Requests go out in
    /// windows of `WINDOW`, so the acknowledgements of one window always fit the receive queue.
    pub fn execute(
        &mut self,
        requests: &[Request],
        deadline: Instant,
    ) -> Result<Vec<Result<(), KernelError>>, NetlinkError> {
        let mut results = Vec::with_capacity(requests.len());
        for window in requests.chunks(WINDOW) {
            // The run's deadline holds between windows too: a long batch stops in time.
            if Instant::now() >= deadline {
                return Err(NetlinkError::Timeout);
            }
            results.extend(self.execute_window(window, deadline)?);
        }
        Ok(results)
    }

    fn execute_window(
        &mut self,
        requests: &[Request],
        deadline: Instant,
    ) -> Result<Vec<Result<(), KernelError>>, NetlinkError> {
        let mut results: Vec<Option<Result<(), KernelError>>> = vec![None; requests.len()];
        let mut seqs = Vec::with_capacity(requests.len());
        for request in requests {
            seqs.push(self.send(request)?);
        }
        let mut pending = requests.len();
        let port = self.port();
        while pending > 0 {
            let n = self.receive_datagram(deadline)?;
            for message in messages(&self.buffer[..n]) {
                let message = message?;
                let Some(slot) = reply_slot(&message, port, &seqs) else {
                    continue;
                };
                if results[slot].is_none() {
                    results[slot] = Some(parse_ack(&message)?);
                    pending -= 1;
                }
            }
        }
        Ok(results.into_iter().map(|r| r.unwrap_or(Ok(()))).collect())
    }

    /// Dump a table (`RTM_GETLINK` and friends with `NLM_F_DUMP`); the payloads of the reply
    /// messages of type `reply`.
    pub fn dump(
        &mut self,
        request: &Request,
        reply: Rtm,
        deadline: Instant,
    ) -> Result<Vec<Vec<u8>>, NetlinkError> {
        let mut out = Vec::new();
        self.dump_each(request, reply, deadline, |payload| {
            out.push(payload.to_vec());
            Ok(())
        })?;
        Ok(out)
    }

    /// Dump a table, handing each reply payload of type `reply` to `each` as it arrives, so a
    /// table of thousands of entries is never held twice in memory.
    pub fn dump_each(
        &mut self,
        request: &Request,
        reply: Rtm,
        deadline: Instant,
        mut each: impl FnMut(&[u8]) -> Result<(), NetlinkError>,
    ) -> Result<(), NetlinkError> {
        let seq = self.send(request)?;
        let port = self.port();
        let reply: u16 = reply.into();
        // A dump that changed under it, or lost a datagram to a small buffer, is still read to
        // its end: the kernel refuses a new dump on a socket whose dump is still running
        // (EBUSY), and the caller will ask again.
        let mut spoiled: Option<NetlinkError> = None;
        loop {
            let n = match self.receive_datagram(deadline) {
                Err(NetlinkError::Truncated) => {
                    spoiled = Some(NetlinkError::Truncated);
                    continue;
                }
                other => other?,
            };
            for message in messages(&self.buffer[..n]) {
                let message = message?;
                if message.port != port || message.seq != seq {
                    log::debug!(
                        "ignoring a message (port {}, sequence {}) that is not part of this dump",
                        message.port,
                        message.seq
                    );
                    continue;
                }
                if message.flags & NLM_F_DUMP_INTR != 0 && spoiled.is_none() {
                    spoiled = Some(NetlinkError::Interrupted);
                }
                let done = match message.kind {
                    NLMSG_DONE => true,
                    NLMSG_ERROR => {
                        parse_ack(&message)?.map_err(NetlinkError::Kernel)?;
                        true
                    }
                    k if k == reply && spoiled.is_none() => {
                        each(message.payload)?;
                        false
                    }
                    _ => false,
                };
                if done {
                    return match spoiled {
                        Some(e) => Err(e),
                        None => Ok(()),
                    };
                }
            }
        }
    }

    /// Events received so far or before `deadline`: the messages of one datagram. An empty
    /// result means the deadline passed.
    pub fn events(&mut self, deadline: Instant) -> Result<Vec<Message>, NetlinkError> {
        match self.receive(deadline) {
            Err(NetlinkError::Timeout) => Ok(Vec::new()),
            other => other,
        }
    }
}

/// For traces: the errno an acknowledgement carries, if any.
fn trace_errno(m: &MessageRef) -> String {
    if m.kind != NLMSG_ERROR || m.payload.len() < 4 {
        return String::new();
    }
    match i32::from_ne_bytes([m.payload[0], m.payload[1], m.payload[2], m.payload[3]]) {
        0 => ", ack".to_string(),
        e => format!(", error {}", -e),
    }
}

/// `NETNSA_*` from `<linux/net_namespace.h>`.
const NETNSA_NSID: u16 = 1;
const NETNSA_PID: u16 = 2;
const NETNSA_FD: u16 = 3;

/// A namespace named in an `RTM_*NSID` request.
#[derive(Debug, Clone, Copy)]
pub enum NsSelector {
    /// The namespace open as this descriptor.
    Fd(i32),
    /// The namespace this process lives in.
    Pid(u32),
}

/// `struct rtgenmsg` (the family, padded to 4 bytes), then the selector and an id.
fn nsid_request(kind: Rtm, other: NsSelector, nsid: Option<i32>) -> Result<Request, NetlinkError> {
    let mut body = vec![0u8; 4];
    let mut put = |kind: u16, value: [u8; 4]| {
        body.extend_from_slice(&8u16.to_ne_bytes());
        body.extend_from_slice(&kind.to_ne_bytes());
        body.extend_from_slice(&value);
    };
    match other {
        NsSelector::Fd(fd) => put(NETNSA_FD, (fd as u32).to_ne_bytes()),
        NsSelector::Pid(pid) => put(NETNSA_PID, pid.to_ne_bytes()),
    }
    if let Some(id) = nsid {
        put(NETNSA_NSID, id.to_ne_bytes());
    }
    Ok(Request {
        kind,
        flags: NlmF::ACK,
        body: Body::Raw(Buffer::from(body)),
    })
}

/// Which of our outstanding requests (by sequence number) `message` answers, if it is an answer
/// at all: an acknowledgement addressed to our port with a sequence number we sent. Anything
/// else (a stale reply of an earlier run, a stray message) is ignored.
pub fn reply_slot(message: &MessageRef, port: u32, seqs: &[u32]) -> Option<usize> {
    if message.port != port || message.kind != NLMSG_ERROR {
        log::debug!(
            "ignoring a message of type {} for port {}",
            message.kind,
            message.port
        );
        return None;
    }
    let slot = seqs.iter().position(|&s| s == message.seq);
    if slot.is_none() {
        log::debug!(
            "ignoring a reply with unknown sequence number {}",
            message.seq
        );
    }
    slot
}

/// Split a datagram into messages, refusing any whose length field lies.
pub fn split_messages(bytes: &[u8]) -> Result<Vec<Message>, NetlinkError> {
    messages(bytes).map(|m| m.map(|m| m.to_message())).collect()
}

/// The messages of a datagram, borrowed from it. A length field that lies is an error, and
/// ends the datagram.
pub fn messages(mut bytes: &[u8]) -> impl Iterator<Item = Result<MessageRef<'_>, NetlinkError>> {
    std::iter::from_fn(move || {
        if bytes.len() < NLMSG_HDRLEN {
            return None;
        }
        let len = u32::from_ne_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]) as usize;
        if len < NLMSG_HDRLEN || len > bytes.len() {
            bytes = &[];
            return Some(Err(NetlinkError::Decode(format!(
                "message length {len} does not fit its datagram"
            ))));
        }
        let message = MessageRef {
            kind: u16::from_ne_bytes([bytes[4], bytes[5]]),
            flags: u16::from_ne_bytes([bytes[6], bytes[7]]),
            seq: u32::from_ne_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]),
            port: u32::from_ne_bytes([bytes[12], bytes[13], bytes[14], bytes[15]]),
            payload: &bytes[NLMSG_HDRLEN..len],
        };
        let aligned = (len + 3) & !3;
        bytes = bytes.get(aligned..).unwrap_or(&[]);
        Some(Ok(message))
    })
}

/// Decode an `NLMSG_ERROR`: errno 0 is an ACK; otherwise the error and the extended-ACK text.
pub fn parse_ack(message: &MessageRef) -> Result<Result<(), KernelError>, NetlinkError> {
    let p = message.payload;
    if p.len() < 4 + NLMSG_HDRLEN {
        return Err(NetlinkError::Decode("short error message".into()));
    }
    let error = i32::from_ne_bytes([p[0], p[1], p[2], p[3]]);
    if error == 0 {
        return Ok(Ok(()));
    }
    let mut kernel = KernelError {
        errno: error.checked_neg().unwrap_or(libc::EIO),
        message: None,
    };
    if message.flags & NLM_F_ACK_TLVS != 0 {
        // The copy of our request: its header only when capped, all of it otherwise.
        let request_len = u32::from_ne_bytes([p[4], p[5], p[6], p[7]]) as usize;
        let copied = if message.flags & NLM_F_CAPPED != 0 {
            NLMSG_HDRLEN
        } else {
            request_len
        };
        let start = 4 + ((copied + 3) & !3);
        if let Some(tlvs) = p.get(start..) {
            for a in attr::attrs(tlvs) {
                let a = a?;
                if a.kind_as::<ExtAckAttr>() == ExtAckAttr::Msg {
                    kernel.message = attr::read_string(a.payload)
                        .ok()
                        .filter(|m| !m.is_empty())
                        .map(str::to_string);
                }
            }
        }
    }
    Ok(Err(kernel))
}

/// Serialise a request's body the way it goes on the wire, for tests that check the encoding.
#[cfg(test)]
pub fn encode_for_test(request: &Request) -> Vec<u8> {
    let mut c = Cursor::new(Vec::new());
    match &request.body {
        Body::Link(m) => m.to_bytes(&mut c).unwrap(),
        Body::Addr(m) => m.to_bytes(&mut c).unwrap(),
        Body::Route(m) => m.to_bytes(&mut c).unwrap(),
        Body::Raw(m) => m.to_bytes(&mut c).unwrap(),
    }
    c.into_inner()
}

#[cfg(test)]
mod tests {
    use super::*;

    const NLM_F_MULTI: u16 = 1 << 1;

    fn header(len: u32, kind: u16, flags: u16, seq: u32, port: u32) -> Vec<u8> {
        let mut h = Vec::new();
        h.extend_from_slice(&len.to_ne_bytes());
        h.extend_from_slice(&kind.to_ne_bytes());
        h.extend_from_slice(&flags.to_ne_bytes());
        h.extend_from_slice(&seq.to_ne_bytes());
        h.extend_from_slice(&port.to_ne_bytes());
        h
    }

    #[test]
    fn splits_datagrams_and_rejects_lying_lengths() {
        let mut d = header(20, 16, NLM_F_MULTI, 7, 9);
        d.extend_from_slice(&[1, 2, 3, 4]);
        d.extend(header(16, NLMSG_DONE, 0, 7, 9));
        let m = split_messages(&d).unwrap();
        assert_eq!(m.len(), 2);
        assert_eq!((m[0].kind, m[0].seq, m[0].port), (16, 7, 9));
        assert_eq!(m[0].payload, vec![1, 2, 3, 4]);
        assert_eq!(m[1].kind, NLMSG_DONE);
        assert!(split_messages(&header(400, 16, 0, 1, 1)).is_err());
        assert!(split_messages(&header(3, 16, 0, 1, 1)).is_err());
    }

    #[test]
    fn extended_ack_text_is_kept() {
        // errno -95, capped copy of the request header, then NLMSGERR_ATTR_MSG.
        let mut payload = (-95i32).to_ne_bytes().to_vec();
        payload.extend(header(100, 16, 0x605, 3, 0));
        let text = b"Unknown device type\0";
        let mut tlv = ((4 + text.len()) as u16).to_ne_bytes().to_vec();
        tlv.extend_from_slice(&1u16.to_ne_bytes());
        tlv.extend_from_slice(text);
        while !tlv.len().is_multiple_of(4) {
            tlv.push(0);
        }
        payload.extend(tlv);
        let m = Message {
            kind: NLMSG_ERROR,
            flags: NLM_F_CAPPED | NLM_F_ACK_TLVS,
            seq: 3,
            port: 0,
            payload,
        };
        let err = parse_ack(&m.borrowed()).unwrap().unwrap_err();
        assert_eq!(err.errno, 95);
        assert_eq!(err.message.as_deref(), Some("Unknown device type"));
        assert_eq!(
            err.to_string(),
            "Operation not supported (kernel: Unknown device type)"
        );
    }

    #[test]
    fn only_acks_for_our_port_and_sequence_numbers_count() {
        let ack = |port, seq, kind| MessageRef {
            kind,
            flags: 0,
            seq,
            port,
            payload: &[],
        };
        let seqs = [10, 11, 12];
        assert_eq!(reply_slot(&ack(7, 11, NLMSG_ERROR), 7, &seqs), Some(1));
        assert_eq!(
            reply_slot(&ack(7, 99, NLMSG_ERROR), 7, &seqs),
            None,
            "unknown sequence"
        );
        assert_eq!(
            reply_slot(&ack(8, 11, NLMSG_ERROR), 7, &seqs),
            None,
            "another port"
        );
        assert_eq!(reply_slot(&ack(7, 11, 16), 7, &seqs), None, "not an ack");
    }

    #[test]
    fn zero_errno_is_an_ack() {
        let mut payload = 0i32.to_ne_bytes().to_vec();
        payload.extend(header(32, 16, 5, 3, 0));
        let m = Message {
            kind: NLMSG_ERROR,
            flags: NLM_F_CAPPED,
            seq: 3,
            port: 0,
            payload,
        };
        assert_eq!(parse_ack(&m.borrowed()).unwrap(), Ok(()));
    }
}
