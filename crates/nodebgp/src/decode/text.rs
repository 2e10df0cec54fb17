//! Addresses and prefixes as text, quickly: `decode` prints millions of them,
//! and the standard `Display` of an IPv4 address (padding support through
//! the formatting machinery) was a sixth of a full decode. Same text as
//! `Display`; IPv6 goes through `Display` unchanged.

use std::net::{IpAddr, Ipv4Addr};

use ipnet::IpNet;

fn push_decimal(text: &mut String, value: u8) {
    if value >= 100 {
        text.push(char::from(b'0' + value / 100));
    }
    if value >= 10 {
        text.push(char::from(b'0' + value / 10 % 10));
    }
    text.push(char::from(b'0' + value % 10));
}

fn push_ipv4(text: &mut String, address: Ipv4Addr) {
    for (index, octet) in address.octets().into_iter().enumerate() {
        if index > 0 {
            text.push('.');
        }
        push_decimal(text, octet);
    }
}

/// `address.to_string()`.
pub(crate) fn ipv4_text(address: Ipv4Addr) -> String {
    let mut text = String::with_capacity(15);
    push_ipv4(&mut text, address);
    text
}

/// `address.to_string()`.
pub(crate) fn address_text(address: IpAddr) -> String {
    match address {
        IpAddr::V4(address) => ipv4_text(address),
        IpAddr::V6(address) => address.to_string(),
    }
}

/// `prefix.to_string()`.
pub(crate) fn prefix_text(prefix: &IpNet) -> String {
    match prefix {
        IpNet::V4(prefix) => {
            let mut text = String::with_capacity(18);
            push_ipv4(&mut text, prefix.addr());
            text.push('/');
            push_decimal(&mut text, prefix.prefix_len());
            text
        }
        IpNet::V6(prefix) => prefix.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_text_is_displays() {
        for address in [
            "0.0.0.0",
            "10.0.9.255",
            "192.168.100.1",
            "255.255.255.255",
            "1.20.199.9",
        ] {
            let parsed: Ipv4Addr = address.parse().unwrap();
            assert_eq!(ipv4_text(parsed), address);
            assert_eq!(address_text(IpAddr::V4(parsed)), address);
        }
        for prefix in [
            "0.0.0.0/0",
            "10.0.0.0/8",
            "203.0.113.128/25",
            "2001:db8::/32",
        ] {
            let parsed: IpNet = prefix.parse().unwrap();
            assert_eq!(prefix_text(&parsed), prefix);
        }
        assert_eq!(address_text("fd00::1".parse().unwrap()), "fd00::1");
    }
}
