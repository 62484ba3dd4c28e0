//! A seeded pseudo-random generator (xorshift64*) for the tests' random
//! loops and noise: the same seed gives the same run, and no extra crate.
//! The `imaging` and `storage` tests include this file too.
#![allow(dead_code)]

/// A tiny deterministic PRNG.
pub struct Rng(u64);

impl Rng {
    /// A generator starting from `seed` (0 is taken as 1).
    pub fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }

    /// The next 64 random bits.
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number in `0..n` (`0` when `n` is 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    /// A random byte.
    pub fn byte(&mut self) -> u8 {
        (self.next() >> 56) as u8
    }
}
