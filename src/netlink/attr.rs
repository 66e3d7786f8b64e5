//! Typed route-netlink attributes on top of neli's `Rtattr`: a writer for building nested
//! attribute trees and a few checked readers for payloads. Attribute types are always enums
//! (neli's `Ifla`, `IflaInfo`, `IflaVlan`, or the kinds' own), never bare numbers.

use std::io::Cursor;

use neli::{
    FromBytesWithInput,
    consts::rtnl::RtaType,
    rtnl::{Rtattr, RtattrBuilder},
    types::{Buffer, RtBuffer},
};

use super::NetlinkError;

/// A list of attributes of type `T` being built.
pub struct AttrWriter<T: RtaType>(RtBuffer<T, Buffer>);

impl<T: RtaType> Default for AttrWriter<T> {
    fn default() -> Self {
        AttrWriter(RtBuffer::new())
    }
}

impl<T: RtaType> AttrWriter<T> {
    pub fn bytes(&mut self, kind: T, payload: &[u8]) -> Result<(), NetlinkError> {
        let attr = RtattrBuilder::default()
            .rta_type(kind)
            .rta_payload(Buffer::from(payload))
            .build()
            .map_err(|e| NetlinkError::Encode(e.to_string()))?;
        self.0.push(attr);
        Ok(())
    }

    pub fn u16(&mut self, kind: T, value: u16) -> Result<(), NetlinkError> {
        self.bytes(kind, &value.to_ne_bytes())
    }

    pub fn u32(&mut self, kind: T, value: u32) -> Result<(), NetlinkError> {
        self.bytes(kind, &value.to_ne_bytes())
    }

    /// A 16-bit value the kernel keeps in network byte order (`__be16`), such as a VLAN protocol.
    pub fn be16(&mut self, kind: T, value: u16) -> Result<(), NetlinkError> {
        self.bytes(kind, &value.to_be_bytes())
    }

    /// A NUL-terminated string, as the kernel's `NLA_STRING` policies expect.
    pub fn string(&mut self, kind: T, value: &str) -> Result<(), NetlinkError> {
        let mut payload = Vec::with_capacity(value.len() + 1);
        payload.extend_from_slice(value.as_bytes());
        payload.push(0);
        self.bytes(kind, &payload)
    }

    pub fn nested<U: RtaType>(
        &mut self,
        kind: T,
        inner: AttrWriter<U>,
    ) -> Result<(), NetlinkError> {
        let attr = RtattrBuilder::default()
            .rta_type(kind)
            .rta_payload(inner.0)
            .build()
            .map_err(|e| NetlinkError::Encode(e.to_string()))?;
        self.0.push(attr);
        Ok(())
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn into_buffer(self) -> RtBuffer<T, Buffer> {
        self.0
    }
}

/// Parse a run of attributes of type `T`. Malformed input is an error, never a panic.
pub fn parse<T: RtaType>(bytes: &[u8]) -> Result<RtBuffer<T, Buffer>, NetlinkError> {
    RtBuffer::<T, Buffer>::from_bytes_with_input(&mut Cursor::new(bytes), bytes.len())
        .map_err(|e| NetlinkError::Decode(format!("malformed attributes: {e}")))
}

/// The payload of `attr` as raw bytes.
pub fn payload<T: RtaType>(attr: &Rtattr<T, Buffer>) -> &[u8] {
    attr.rta_payload().as_ref()
}

pub fn read_u16(bytes: &[u8]) -> Result<u16, NetlinkError> {
    Ok(u16::from_ne_bytes(fixed(bytes, "u16")?))
}

pub fn read_be16(bytes: &[u8]) -> Result<u16, NetlinkError> {
    Ok(u16::from_be_bytes(fixed(bytes, "be16")?))
}

pub fn read_u32(bytes: &[u8]) -> Result<u32, NetlinkError> {
    Ok(u32::from_ne_bytes(fixed(bytes, "u32")?))
}

pub fn read_string(bytes: &[u8]) -> Result<String, NetlinkError> {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    String::from_utf8(bytes[..end].to_vec())
        .map_err(|_| NetlinkError::Decode("string attribute is not UTF-8".into()))
}

/// A NUL-terminated string, with bytes that are not UTF-8 replaced.
pub fn read_string_lossy(bytes: &[u8]) -> String {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    String::from_utf8_lossy(&bytes[..end]).into_owned()
}

fn fixed<const N: usize>(bytes: &[u8], what: &str) -> Result<[u8; N], NetlinkError> {
    bytes
        .get(..N)
        .and_then(|b| <[u8; N]>::try_from(b).ok())
        .ok_or_else(|| short(what))
}

fn short(what: &str) -> NetlinkError {
    NetlinkError::Decode(format!("attribute too short for a {what}"))
}

impl<T: RtaType> AttrWriter<T> {
    /// The attributes serialised back to back, ready to be the payload of a nesting attribute
    /// whose type lives in another enum (a kind's `IFLA_INFO_DATA`).
    pub fn into_bytes(self) -> Result<Vec<u8>, NetlinkError> {
        use neli::ToBytes;
        let mut out = Cursor::new(Vec::new());
        self.0
            .to_bytes(&mut out)
            .map_err(|e| NetlinkError::Encode(e.to_string()))?;
        Ok(out.into_inner())
    }
}
