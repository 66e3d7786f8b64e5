//! dummy links: no parent, no settings. Useful as a stable anchor for addresses, and as a
//! parent for macvlans on a box with no NIC to spare (Docker's examples do the same).

use std::any::Any;

use super::{Codec, Difference, Kind, KindSettings, MacChoice, OpenWrt};
use crate::netlink::NetlinkError;
use crate::syntax::section::SectionReader;

pub const DUMMY: Kind = Kind {
    name: "dummy",
    module: "dummy",
    openwrt: OpenWrt::Package("kmod-dummy"),
    takes_parent: false,
    flattens: None,
    default_mac: Some(MacChoice::Stable),
    keys: &[],
    example: "dm0",
    codec: &DummyCodec,
};

struct DummyCodec;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DummySettings;

impl Codec for DummyCodec {
    fn parse(
        &self,
        _kind: &'static Kind,
        _r: &mut SectionReader,
        _parent: &mut Option<String>,
    ) -> Option<Box<dyn KindSettings>> {
        Some(Box::new(DummySettings))
    }

    fn decode(&self, _info_data: &[u8]) -> Result<Box<dyn KindSettings>, NetlinkError> {
        Ok(Box::new(DummySettings))
    }
}

impl KindSettings for DummySettings {
    fn as_any(&self) -> &dyn Any {
        self
    }

    fn create_data(&self) -> Result<Option<Vec<u8>>, NetlinkError> {
        Ok(None)
    }

    fn change_data(&self, _live: &dyn KindSettings) -> Result<Option<Vec<u8>>, NetlinkError> {
        Ok(None)
    }

    fn compare(&self, _live: &dyn KindSettings) -> Vec<Difference> {
        Vec::new()
    }

    fn summary(&self) -> String {
        String::new()
    }
}
