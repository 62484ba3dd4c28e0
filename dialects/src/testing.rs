//! Test support shared by the dialects' unit tests: one seeded random
//! generator for the dictionary fuzz loops, so every dialect fuzzes the
//! same way and a failing input can be reproduced from its seed.

/// A tiny deterministic generator (no new dependency): xorshift64*.
pub(crate) struct Rng(u64);

impl Rng {
    /// A generator starting from `seed` (any value but 0).
    pub(crate) fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    /// The next 64 random bits.
    pub(crate) fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number in `0..n` (`n` > 0).
    pub(crate) fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % n as u64).unwrap_or(0)
    }

    /// One of `items` (not empty).
    pub(crate) fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}
