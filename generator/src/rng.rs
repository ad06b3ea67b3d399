//! A small deterministic PRNG (SplitMix64): the whole corpus is a pure function of the seed.
//!
//! Every session slot gets its own generator derived from `(seed, stream, index)`, so slots
//! can be generated in any order, on any number of threads, with identical output.

/// SplitMix64 (Steele, Lea, Flood 2014): tiny, fast, and good enough for synthetic data.
#[derive(Debug, Clone)]
pub(crate) struct Rng {
    state: u64,
}

const GOLDEN: u64 = 0x9E37_79B9_7F4A_7C15;

impl Rng {
    /// A generator for item `index` of `stream` under `seed`.
    pub(crate) fn for_item(seed: u64, stream: u64, index: u64) -> Rng {
        let mut mixer = Rng {
            state: seed ^ stream.wrapping_mul(0xD1B5_4A32_D192_ED03),
        };
        let base = mixer.next_u64();
        let mut rng = Rng {
            state: base ^ index.wrapping_mul(GOLDEN),
        };
        // One warm-up step so that neighbouring indices diverge immediately.
        rng.next_u64();
        rng
    }

    /// The next 64 random bits.
    pub(crate) fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(GOLDEN);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`0` when `n` is 0). Multiply-shift: the bias is below 2^-40 here.
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// Uniform in `lo..=hi` (`lo` when `hi < lo`).
    pub(crate) fn range(&mut self, lo: i64, hi: i64) -> i64 {
        if hi <= lo {
            return lo;
        }
        lo + self.below((hi - lo) as u64 + 1) as i64
    }

    /// True with probability `p`.
    pub(crate) fn chance(&mut self, p: f64) -> bool {
        let unit = (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
        unit < p
    }

    /// A uniformly chosen element of a non-empty slice.
    pub(crate) fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        *self.pick_ref(items)
    }

    /// A reference to a uniformly chosen element of a non-empty slice.
    pub(crate) fn pick_ref<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }

    /// An element chosen with the given integer weights (non-empty, total > 0).
    pub(crate) fn weighted<T: Copy>(&mut self, items: &[(T, u32)]) -> T {
        let total: u64 = items.iter().map(|(_, w)| u64::from(*w)).sum();
        let mut roll = self.below(total);
        for &(item, weight) in items {
            let weight = u64::from(weight);
            if roll < weight {
                return item;
            }
            roll -= weight;
        }
        items[items.len() - 1].0
    }

    /// Fisher–Yates shuffle.
    pub(crate) fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.below(i as u64 + 1) as usize;
            items.swap(i, j);
        }
    }

    /// `n` characters from `alphabet` appended to `out`.
    pub(crate) fn push_chars(&mut self, out: &mut String, alphabet: &[u8], n: usize) {
        for _ in 0..n {
            out.push(char::from(self.pick(alphabet)));
        }
    }

    /// A random (version 4 shaped) UUID.
    pub(crate) fn uuid(&mut self) -> String {
        const HEX: &[u8] = b"0123456789abcdef";
        let mut out = String::with_capacity(36);
        for (i, len) in [8usize, 4, 4, 4, 12].into_iter().enumerate() {
            if i > 0 {
                out.push('-');
            }
            if i == 2 {
                out.push('4');
                self.push_chars(&mut out, HEX, len - 1);
            } else {
                self.push_chars(&mut out, HEX, len);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_are_reproducible_and_distinct() {
        let a: Vec<u64> = (0..4).map(|_| Rng::for_item(42, 1, 7).next_u64()).collect();
        assert!(a.windows(2).all(|w| w[0] == w[1]));
        assert_ne!(
            Rng::for_item(42, 1, 7).next_u64(),
            Rng::for_item(42, 1, 8).next_u64()
        );
        assert_ne!(
            Rng::for_item(42, 1, 7).next_u64(),
            Rng::for_item(43, 1, 7).next_u64()
        );
    }

    #[test]
    fn ranges_stay_in_bounds() {
        let mut rng = Rng::for_item(1, 2, 3);
        for _ in 0..10_000 {
            let v = rng.range(-3, 5);
            assert!((-3..=5).contains(&v));
            assert!(rng.below(10) < 10);
        }
        assert_eq!(rng.range(4, 4), 4);
        assert_eq!(rng.below(0), 0);
        assert_eq!(rng.uuid().len(), 36);
    }
}
