//! The names Calico derives from a CIDR: libcalico-go's `names.CIDRToName`
//! (`libcalico-go/lib/names/cidr.go`), which replaces `.`, `:` and `/` with `-`
//! (`10.244.3.0/26` → `10-244-3-0-26`, `fd00:10:244::/122` → `fd00-10-244---122`),
//! names IPAM blocks and, after the node name, block affinities
//! (`libcalico-go/lib/backend/k8s/resources/ipam_block.go`, `ipam_affinity_v1.go`).
//!
//! A CIDR is written as Go's `net.IPNet.String()` does, which for a masked
//! prefix is what [`IpNet`]'s `Display` prints (RFC 5952 for IPv6).

use ipnet::IpNet;

/// `names.CIDRToName`: the CIDR with `.`, `:` and `/` replaced by `-`.
pub fn cidr_to_name(cidr: IpNet) -> String {
    cidr.to_string().replace(['.', ':', '/'], "-")
}

/// The masked CIDR whose [`cidr_to_name`] is `name`, if any: the last `-` was
/// the `/`; the others were `.` (IPv4, exactly three) or `:` (IPv6).
pub fn cidr_from_name(name: &str) -> Option<IpNet> {
    let (address, length) = name.rsplit_once('-')?;
    let candidates = [address.replace('-', "."), address.replace('-', ":")];
    candidates.into_iter().find_map(|address| {
        let cidr: IpNet = format!("{address}/{length}").parse().ok()?;
        (cidr == cidr.trunc() && cidr_to_name(cidr) == name).then_some(cidr)
    })
}

/// The key segment Calico's IPAM keys use for a CIDR: the masked prefix with
/// its `/` replaced by `-` (`10.244.3.0-26`, `fd00:10:244::-122`), as
/// `model.BlockKey`, `model.BlockAffinityKey` and `model.IPPoolKey` write it.
pub fn cidr_to_key_segment(cidr: IpNet) -> String {
    cidr.to_string().replacen('/', "-", 1)
}

/// The CIDR of a key segment, only in the canonical form
/// [`cidr_to_key_segment`] writes: another spelling of the same prefix would
/// be a second key for one resource.
pub fn cidr_from_key_segment(segment: &str) -> Option<IpNet> {
    let cidr: IpNet = segment.replacen('-', "/", 1).parse().ok()?;
    (cidr == cidr.trunc() && cidr_to_key_segment(cidr) == segment).then_some(cidr)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_calicos_and_read_back() {
        for (cidr, name) in [
            ("10.244.3.0/26", "10-244-3-0-26"),
            ("fd00:10:244::/122", "fd00-10-244---122"),
            ("fd00:10:244:0:1234::/122", "fd00-10-244-0-1234---122"),
            ("::/0", "---0"),
        ] {
            let cidr: IpNet = cidr.parse().unwrap();
            assert_eq!(cidr_to_name(cidr), name);
            assert_eq!(cidr_from_name(name), Some(cidr), "{name}");
        }
        for bad in [
            "",
            "10-244-3-0",
            "10-244-3-1-26",
            "10-244-3-0-33",
            "node-a",
            "fd00-10",
        ] {
            assert_eq!(cidr_from_name(bad), None, "{bad}");
        }
    }

    #[test]
    fn key_segments_are_canonical() {
        let cidr: IpNet = "fd00:10:244::/122".parse().unwrap();
        assert_eq!(cidr_to_key_segment(cidr), "fd00:10:244::-122");
        assert_eq!(cidr_from_key_segment("fd00:10:244::-122"), Some(cidr));
        assert_eq!(
            cidr_from_key_segment("10.244.3.0-26"),
            Some("10.244.3.0/26".parse().unwrap())
        );
        for bad in [
            "10.244.3.1-26",
            "fd00:10:244:0::-122",
            "10.244.3.0/26",
            "x-1",
        ] {
            assert_eq!(cidr_from_key_segment(bad), None, "{bad}");
        }
    }
}
