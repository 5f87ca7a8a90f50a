//! IP address ranges in CIDR notation (`203.0.113.0/24`, `2001:db8::/32`), as NetworkPolicy
//! `ipBlock.cidr` takes them.
//!
//! The address is parsed by the standard library (which rejects IPv4 octets with leading
//! zeros and IPv6 zone ids); the prefix length must be written and must fit the address
//! family, and the address must be the first of its range (no host bits set), since
//! `10.1.2.3/8` is almost always a mistake for `10.1.2.3/32` or `10.0.0.0/8`.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

/// An address range: a network address and a prefix length.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Cidr {
    /// The first address of the range (host bits are zero).
    pub addr: IpAddr,
    /// Number of leading bits that are fixed: 0 to 32 for IPv4, 0 to 128 for IPv6.
    pub prefix: u8,
}

/// Why a text is not a CIDR range.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CidrError {
    #[error("`{text}` has no prefix length")]
    MissingPrefix { text: String, addr: IpAddr },
    #[error("`{text}`: `{addr}` is not an IPv4 or IPv6 address")]
    BadAddress { text: String, addr: String },
    #[error("`{text}`: the prefix length `{prefix}` is not a number from 0 to {max}")]
    BadPrefix {
        text: String,
        prefix: String,
        max: u8,
    },
    #[error("`{text}` has host bits set: the range it names starts at `{network}`")]
    HostBits {
        text: String,
        network: Cidr,
        addr: IpAddr,
    },
}

impl CidrError {
    /// How to fix it, in one sentence.
    pub fn hint(&self) -> String {
        match self {
            CidrError::MissingPrefix { addr, .. } => format!(
                "add the prefix length: `{addr}/{}` for this one address",
                max_prefix(addr)
            ),
            CidrError::BadAddress { .. } => {
                "write an address range as `address/prefix`, e.g. `203.0.113.10/32` or `2001:db8::/32`"
                    .to_string()
            }
            CidrError::BadPrefix { max, .. } => {
                format!("the number after `/` must be from 0 to {max} for this address")
            }
            CidrError::HostBits { network, addr, .. } => format!(
                "write `{network}` for the whole range, or `{addr}/{}` for this one address",
                max_prefix(addr)
            ),
        }
    }
}

fn max_prefix(addr: &IpAddr) -> u8 {
    match addr {
        IpAddr::V4(_) => 32,
        IpAddr::V6(_) => 128,
    }
}

impl Cidr {
    /// Whether the range is every address of its family (`0.0.0.0/0`, `::/0`).
    pub fn is_anywhere(&self) -> bool {
        self.prefix == 0
    }

    /// Whether this is an IPv6 range.
    pub fn is_ipv6(&self) -> bool {
        self.addr.is_ipv6()
    }
}

/// `addr` with every bit after the first `prefix` bits cleared.
fn network(addr: IpAddr, prefix: u8) -> IpAddr {
    match addr {
        IpAddr::V4(a) => {
            let bits = u32::from(a);
            let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
            IpAddr::V4(Ipv4Addr::from(bits & mask))
        }
        IpAddr::V6(a) => {
            let bits = u128::from(a);
            let mask = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
            IpAddr::V6(Ipv6Addr::from(bits & mask))
        }
    }
}

impl FromStr for Cidr {
    type Err = CidrError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let (addr_text, prefix_text) = match text.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (text, None),
        };
        let addr: IpAddr = addr_text.parse().map_err(|_| CidrError::BadAddress {
            text: text.to_string(),
            addr: addr_text.to_string(),
        })?;
        let Some(prefix_text) = prefix_text else {
            return Err(CidrError::MissingPrefix {
                text: text.to_string(),
                addr,
            });
        };
        let max = max_prefix(&addr);
        let prefix = parse_prefix(prefix_text)
            .filter(|p| *p <= max)
            .ok_or_else(|| CidrError::BadPrefix {
                text: text.to_string(),
                prefix: prefix_text.to_string(),
                max,
            })?;
        let net = network(addr, prefix);
        if net != addr {
            return Err(CidrError::HostBits {
                text: text.to_string(),
                network: Cidr { addr: net, prefix },
                addr,
            });
        }
        Ok(Cidr { addr, prefix })
    }
}

/// A decimal prefix length without sign or leading zeros (`0`, `24`, `128`).
fn parse_prefix(text: &str) -> Option<u8> {
    let well_formed = !text.is_empty()
        && text.len() <= 3
        && text.bytes().all(|b| b.is_ascii_digit())
        && (text == "0" || !text.starts_with('0'));
    if well_formed { text.parse().ok() } else { None }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]

    use super::*;

    fn ok(text: &str) -> Cidr {
        text.parse().unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    fn err(text: &str) -> CidrError {
        text.parse::<Cidr>().unwrap_err()
    }

    #[test]
    fn parses_ipv4_and_ipv6_ranges() {
        assert_eq!(ok("203.0.113.10/32").to_string(), "203.0.113.10/32");
        assert_eq!(ok("10.0.0.0/8").prefix, 8);
        assert!(ok("0.0.0.0/0").is_anywhere());
        assert!(!ok("192.168.0.0/16").is_ipv6());
        let v6 = ok("2001:db8::/32");
        assert!(v6.is_ipv6() && !v6.is_anywhere());
        assert!(ok("::/0").is_anywhere());
        assert_eq!(ok("2001:0db8:0000::/48").to_string(), "2001:db8::/48");
        assert_eq!(ok("::1/128").prefix, 128);
        assert_eq!(ok("1.2.3.4/32").addr, IpAddr::V4(Ipv4Addr::new(1, 2, 3, 4)));
    }

    #[test]
    fn rejects_malformed_ranges_with_a_fix() {
        let e = err("203.0.113.10");
        assert!(matches!(e, CidrError::MissingPrefix { .. }));
        assert!(e.hint().contains("`203.0.113.10/32`"), "{}", e.hint());
        assert!(err("2001:db8::1").hint().contains("/128"));

        for bad in [
            "",
            "/24",
            "example.org/32",
            "10.0.0/8",
            "256.0.0.0/8",
            "010.0.0.0/8",
        ] {
            assert!(
                matches!(err(bad), CidrError::BadAddress { .. }),
                "{bad}: {:?}",
                err(bad)
            );
        }
        assert!(matches!(
            err("fe80::1%eth0/64"),
            CidrError::BadAddress { .. }
        ));
        for bad in [
            "10.0.0.0/33",
            "10.0.0.0/",
            "10.0.0.0/-1",
            "10.0.0.0/+8",
            "10.0.0.0/08",
            "10.0.0.0/8/8",
            "::/129",
            "10.0.0.0/ 8",
        ] {
            assert!(
                matches!(err(bad), CidrError::BadPrefix { .. }),
                "{bad}: {:?}",
                err(bad)
            );
        }
        assert_eq!(
            err("10.0.0.0/33").to_string(),
            "`10.0.0.0/33`: the prefix length `33` is not a number from 0 to 32"
        );
    }

    #[test]
    fn host_bits_must_be_zero() {
        let e = err("10.1.2.3/8");
        assert_eq!(
            e.to_string(),
            "`10.1.2.3/8` has host bits set: the range it names starts at `10.0.0.0/8`"
        );
        assert_eq!(
            e.hint(),
            "write `10.0.0.0/8` for the whole range, or `10.1.2.3/32` for this one address"
        );
        assert!(err("2001:db8::1/32").hint().contains("`2001:db8::/32`"));
        assert!(matches!(err("1.2.3.4/0"), CidrError::HostBits { .. }));
    }
}
