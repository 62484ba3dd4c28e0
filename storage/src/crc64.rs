//! Combining CRC-64/XZ values (the `crc64ecma` of Alibaba OSS and Tencent
//! COS): the CRC of `a ‖ b` from `crc(a)`, `crc(b)` and `len(b)`, so a
//! multipart object gets its whole-body CRC from its parts' without reading
//! a byte. The protocol layer computes the CRCs themselves; this module only
//! knows the polynomial.
//!
//! The method is zlib's `crc32_combine`: appending `n` zero bytes to a CRC
//! register is a linear map over GF(2), applied by repeated squaring of the
//! one-zero-bit operator. It holds for CRCs whose init and final XOR are
//! equal (both all ones here), so it works on the final values directly.

/// The reflected CRC-64/XZ polynomial (ECMA-182, 0x42F0E1EBA9EA3693).
const POLY_REFLECTED: u64 = 0xC96C_5795_D787_0F42;

fn times(matrix: &[u64; 64], mut vector: u64) -> u64 {
    let mut sum = 0;
    let mut row = 0;
    while vector != 0 {
        if vector & 1 == 1 {
            sum ^= matrix[row];
        }
        vector >>= 1;
        row += 1;
    }
    sum
}

fn square(matrix: &[u64; 64]) -> [u64; 64] {
    let mut out = [0u64; 64];
    for (n, slot) in out.iter_mut().enumerate() {
        *slot = times(matrix, matrix[n]);
    }
    out
}

/// The CRC-64/XZ of `a ‖ b`, given `crc(a)`, `crc(b)` and the length of `b`
/// in bytes.
pub fn combine(crc_a: u64, crc_b: u64, len_b: u64) -> u64 {
    if len_b == 0 {
        return crc_a;
    }
    // The operator for one zero bit, then two, then four.
    let mut odd = [0u64; 64];
    odd[0] = POLY_REFLECTED;
    for (n, slot) in odd.iter_mut().enumerate().skip(1) {
        *slot = 1 << (n - 1);
    }
    let mut even = square(&odd);
    odd = square(&even);
    let mut crc = crc_a;
    let mut len = len_b;
    // Each round squares the operator (one zero byte, two, four...) and
    // applies it for every set bit of the length.
    loop {
        even = square(&odd);
        if len & 1 == 1 {
            crc = times(&even, crc);
        }
        len >>= 1;
        if len == 0 {
            break;
        }
        odd = square(&even);
        if len & 1 == 1 {
            crc = times(&odd, crc);
        }
        len >>= 1;
        if len == 0 {
            break;
        }
    }
    crc ^ crc_b
}

/// The CRC of the concatenation of segments given as `(crc, length)` in
/// order; `None` when any segment's CRC is unknown.
pub fn combine_all(segments: impl IntoIterator<Item = (Option<u64>, u64)>) -> Option<u64> {
    // CRC-64/XZ of no bytes is 0.
    let mut total = 0u64;
    for (crc, len) in segments {
        total = combine(total, crc?, len);
    }
    Some(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Bit-at-a-time CRC-64/XZ, the reference the combination must match.
    fn reference(data: &[u8]) -> u64 {
        let mut crc = !0u64;
        for &b in data {
            crc ^= b as u64;
            for _ in 0..8 {
                crc = if crc & 1 == 1 {
                    (crc >> 1) ^ POLY_REFLECTED
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }

    #[test]
    fn reference_matches_the_catalogue() {
        assert_eq!(reference(b"123456789"), 0x995D_C9BB_DF19_39FA);
        assert_eq!(reference(b""), 0);
    }

    #[test]
    fn combination_equals_the_crc_of_the_concatenation() {
        let data: Vec<u8> = (0..5000u32).map(|i| (i * 31 + i / 7) as u8).collect();
        for cut in [0, 1, 2, 3, 7, 8, 255, 256, 1000, 4999, 5000] {
            let (a, b) = data.split_at(cut);
            assert_eq!(
                combine(reference(a), reference(b), b.len() as u64),
                reference(&data),
                "cut at {cut}"
            );
        }
        let parts = [
            &data[..1234],
            &data[1234..1300],
            &data[1300..1300],
            &data[1300..],
        ];
        let combined = combine_all(parts.iter().map(|p| (Some(reference(p)), p.len() as u64)));
        assert_eq!(combined, Some(reference(&data)));
        assert_eq!(combine_all([(Some(1), 3), (None, 4)]), None);
        assert_eq!(combine_all([]), Some(0));
    }
}
