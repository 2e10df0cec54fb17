//! The identity a store gives a v3 resource when it is created, as Calico's
//! `Create` does (`libcalico-go/lib/clientv3/resources.go`): `metadata.uid`, a
//! random UUID (version 4, RFC 9562 §5.4), and `metadata.creationTimestamp`, the
//! time in RFC 3339 UTC with whole seconds as Kubernetes writes it
//! (`2026-12-04T16:00:00Z`). Both are kept across updates.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::io::Read;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// A new random version-4 UUID, lower-case and hyphenated.
pub fn new_uid() -> String {
    format_uuid(random_bytes())
}

/// 16 bytes from the kernel's generator; if `/dev/urandom` cannot be read (a
/// sandbox without `/dev`), from the standard library's per-process random hash
/// keys mixed with the time and a counter: unique, if not cryptographic, which
/// is all a uid needs.
fn random_bytes() -> [u8; 16] {
    let mut bytes = [0u8; 16];
    let read = std::fs::File::open("/dev/urandom").and_then(|mut file| file.read_exact(&mut bytes));
    if read.is_ok() {
        return bytes;
    }
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_nanos());
    for (index, chunk) in bytes.chunks_mut(8).enumerate() {
        let mut hasher = RandomState::new().build_hasher();
        hasher.write_u128(nanos);
        hasher.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
        hasher.write_usize(index);
        chunk.copy_from_slice(&hasher.finish().to_le_bytes());
    }
    bytes
}

/// Sets the version (4) and variant (RFC 9562) bits and formats 8-4-4-4-12.
fn format_uuid(mut bytes: [u8; 16]) -> String {
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex: String = bytes.iter().map(|byte| format!("{byte:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

/// `time` as RFC 3339 UTC with whole seconds: `2026-12-04T16:00:00Z`.
pub fn timestamp(time: SystemTime) -> String {
    chrono::DateTime::<chrono::Utc>::from(time)
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn timestamps_are_rfc3339_utc_seconds() {
        let at = |seconds: u64| timestamp(UNIX_EPOCH + Duration::from_secs(seconds));
        assert_eq!(at(0), "1970-01-01T00:00:00Z");
        assert_eq!(at(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(at(1_796_400_000), "2026-12-04T16:00:00Z");
        assert_eq!(at(4_107_542_399), "2100-02-28T23:59:59Z");
    }

    #[test]
    fn uids_are_version_4_and_differ() {
        let first = new_uid();
        assert_eq!(first.len(), 36);
        let parts: Vec<&str> = first.split('-').collect();
        assert_eq!(
            parts.iter().map(|part| part.len()).collect::<Vec<_>>(),
            [8, 4, 4, 4, 12]
        );
        assert!(parts[2].starts_with('4'), "{first}");
        assert!("89ab".contains(&parts[3][..1]), "{first}");
        assert!(first.chars().all(|character| character == '-'
            || character.is_ascii_hexdigit() && !character.is_ascii_uppercase()));
        assert_ne!(first, new_uid());
        assert_eq!(
            format_uuid([0xff; 16]),
            "ffffffff-ffff-4fff-bfff-ffffffffffff"
        );
    }
}
