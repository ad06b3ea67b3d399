//! FNV-1a, 64 bits: a hash whose values are fixed by its definition, for values that must be
//! the same on every machine, run and build: Exchange spill buckets, shard assignment, shard
//! fingerprints. The standard library's hasher is seeded and may change between releases.

/// An FNV-1a hash fed piece by piece.
#[derive(Debug, Clone, Copy)]
pub struct StableHash(u64);

impl Default for StableHash {
    fn default() -> StableHash {
        StableHash(0xcbf2_9ce4_8422_2325)
    }
}

impl StableHash {
    /// Adds `bytes`.
    pub fn write(&mut self, bytes: &[u8]) -> &mut StableHash {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
        }
        self
    }

    /// The hash so far.
    pub fn finish(&self) -> u64 {
        self.0
    }
}

/// The FNV-1a hash of `bytes`.
pub fn fnv1a(bytes: &[u8]) -> u64 {
    StableHash::default().write(bytes).finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hash_is_fnv1a_and_stable() {
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(
            StableHash::default()
                .write(b"call:")
                .write(b"1418")
                .finish(),
            0x9e7d_289b_aac1_54c5
        );
    }
}
