//! The additional checksums S3 accepts (`x-amz-checksum-*`): CRC32
//! (ISO-HDLC), CRC32C (Castagnoli), CRC64NVME, SHA-1 and SHA-256, each
//! reported as the base64 of its big-endian digest bytes, plus the
//! CRC-64/XZ ("crc64ecma") that Alibaba OSS and Tencent COS return as a
//! decimal string.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use crc::{Crc, Table, CRC_32_ISCSI, CRC_32_ISO_HDLC, CRC_64_NVME, CRC_64_XZ};
use sha1::Sha1;
use sha2::{Digest as _, Sha256};

// Slice-by-16 tables: the CRCs run over every uploaded byte, so the table
// cost (16 KiB per algorithm, computed at compile time) is worth it.
static CRC32: Crc<u32, Table<16>> = Crc::<u32, Table<16>>::new(&CRC_32_ISO_HDLC);
static CRC32C: Crc<u32, Table<16>> = Crc::<u32, Table<16>>::new(&CRC_32_ISCSI);
static CRC64NVME: Crc<u64, Table<16>> = Crc::<u64, Table<16>>::new(&CRC_64_NVME);
static CRC64XZ: Crc<u64, Table<16>> = Crc::<u64, Table<16>>::new(&CRC_64_XZ);

/// A checksum algorithm of the S3 "additional checksums" family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ChecksumAlgorithm {
    /// CRC-32/ISO-HDLC (the zlib CRC).
    Crc32,
    /// CRC-32C (Castagnoli, iSCSI).
    Crc32c,
    /// CRC-64/NVME.
    Crc64Nvme,
    /// SHA-1.
    Sha1,
    /// SHA-256.
    Sha256,
}

impl ChecksumAlgorithm {
    /// Every algorithm, in a fixed order.
    pub const ALL: [ChecksumAlgorithm; 5] = [
        ChecksumAlgorithm::Crc32,
        ChecksumAlgorithm::Crc32c,
        ChecksumAlgorithm::Crc64Nvme,
        ChecksumAlgorithm::Sha1,
        ChecksumAlgorithm::Sha256,
    ];

    /// Parses an algorithm name as used in `x-amz-sdk-checksum-algorithm`
    /// and `x-amz-checksum-algorithm` (`CRC32`, `crc64nvme`, ...),
    /// case-insensitively.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|a| a.name().eq_ignore_ascii_case(name.trim()))
    }

    /// Parses a header (or trailer) name such as `x-amz-checksum-crc32c`,
    /// case-insensitively. Other `x-amz-checksum-*` headers
    /// (`-type`, `-algorithm`, `-mode`) give `None`.
    pub fn from_header_name(header: &str) -> Option<Self> {
        let header = header.trim();
        let prefix = "x-amz-checksum-";
        if header.len() <= prefix.len() || !header[..prefix.len()].eq_ignore_ascii_case(prefix) {
            return None;
        }
        Self::from_name(&header[prefix.len()..])
    }

    /// Lower-case name, as used in header names and as the key in
    /// `storage::ObjectAttrs::checksums`: `crc32`, `crc32c`, `crc64nvme`,
    /// `sha1`, `sha256`.
    pub fn name(self) -> &'static str {
        match self {
            ChecksumAlgorithm::Crc32 => "crc32",
            ChecksumAlgorithm::Crc32c => "crc32c",
            ChecksumAlgorithm::Crc64Nvme => "crc64nvme",
            ChecksumAlgorithm::Sha1 => "sha1",
            ChecksumAlgorithm::Sha256 => "sha256",
        }
    }

    /// Upper-case name as S3 spells it in XML and messages (`CRC32`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            ChecksumAlgorithm::Crc32 => "CRC32",
            ChecksumAlgorithm::Crc32c => "CRC32C",
            ChecksumAlgorithm::Crc64Nvme => "CRC64NVME",
            ChecksumAlgorithm::Sha1 => "SHA1",
            ChecksumAlgorithm::Sha256 => "SHA256",
        }
    }

    /// The header (and trailer) name carrying this checksum.
    pub fn header_name(self) -> &'static str {
        match self {
            ChecksumAlgorithm::Crc32 => "x-amz-checksum-crc32",
            ChecksumAlgorithm::Crc32c => "x-amz-checksum-crc32c",
            ChecksumAlgorithm::Crc64Nvme => "x-amz-checksum-crc64nvme",
            ChecksumAlgorithm::Sha1 => "x-amz-checksum-sha1",
            ChecksumAlgorithm::Sha256 => "x-amz-checksum-sha256",
        }
    }

    /// Length of the raw digest in bytes.
    pub fn digest_len(self) -> usize {
        match self {
            ChecksumAlgorithm::Crc32 | ChecksumAlgorithm::Crc32c => 4,
            ChecksumAlgorithm::Crc64Nvme => 8,
            ChecksumAlgorithm::Sha1 => 20,
            ChecksumAlgorithm::Sha256 => 32,
        }
    }

    /// Decodes a base64 value as sent in a header or trailer; `None` unless
    /// it is valid base64 of exactly [`Self::digest_len`] bytes.
    pub fn decode_value(self, value: &str) -> Option<Vec<u8>> {
        let raw = BASE64.decode(value.trim().as_bytes()).ok()?;
        (raw.len() == self.digest_len()).then_some(raw)
    }

    /// A fresh incremental hasher for this algorithm.
    pub fn hasher(self) -> Checksummer {
        Checksummer::new(self)
    }
}

impl std::fmt::Display for ChecksumAlgorithm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An incremental checksum computation for one [`ChecksumAlgorithm`].
pub struct Checksummer {
    state: State,
}

enum State {
    Crc32(crc::Digest<'static, u32, Table<16>>),
    Crc32c(crc::Digest<'static, u32, Table<16>>),
    Crc64Nvme(crc::Digest<'static, u64, Table<16>>),
    Sha1(Sha1),
    Sha256(Sha256),
}

impl std::fmt::Debug for Checksummer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Checksummer")
            .field("algorithm", &self.algorithm())
            .finish()
    }
}

impl Checksummer {
    /// Starts a checksum over no bytes.
    pub fn new(algorithm: ChecksumAlgorithm) -> Self {
        let state = match algorithm {
            ChecksumAlgorithm::Crc32 => State::Crc32(CRC32.digest()),
            ChecksumAlgorithm::Crc32c => State::Crc32c(CRC32C.digest()),
            ChecksumAlgorithm::Crc64Nvme => State::Crc64Nvme(CRC64NVME.digest()),
            ChecksumAlgorithm::Sha1 => State::Sha1(Sha1::new()),
            ChecksumAlgorithm::Sha256 => State::Sha256(Sha256::new()),
        };
        Checksummer { state }
    }

    /// Which algorithm this computes.
    pub fn algorithm(&self) -> ChecksumAlgorithm {
        match self.state {
            State::Crc32(_) => ChecksumAlgorithm::Crc32,
            State::Crc32c(_) => ChecksumAlgorithm::Crc32c,
            State::Crc64Nvme(_) => ChecksumAlgorithm::Crc64Nvme,
            State::Sha1(_) => ChecksumAlgorithm::Sha1,
            State::Sha256(_) => ChecksumAlgorithm::Sha256,
        }
    }

    /// Feeds more bytes.
    pub fn update(&mut self, data: &[u8]) {
        match &mut self.state {
            State::Crc32(d) | State::Crc32c(d) => d.update(data),
            State::Crc64Nvme(d) => d.update(data),
            State::Sha1(h) => h.update(data),
            State::Sha256(h) => h.update(data),
        }
    }

    /// The digest as big-endian bytes (S3's wire form before base64).
    pub fn finalize(self) -> Vec<u8> {
        match self.state {
            State::Crc32(d) | State::Crc32c(d) => d.finalize().to_be_bytes().to_vec(),
            State::Crc64Nvme(d) => d.finalize().to_be_bytes().to_vec(),
            State::Sha1(h) => h.finalize().to_vec(),
            State::Sha256(h) => h.finalize().to_vec(),
        }
    }

    /// The digest as S3 reports it: base64 of the big-endian bytes.
    pub fn finalize_base64(self) -> String {
        BASE64.encode(self.finalize())
    }
}

/// One-shot checksum of `data`, base64 as S3 reports it.
pub fn checksum_base64(algorithm: ChecksumAlgorithm, data: &[u8]) -> String {
    let mut c = Checksummer::new(algorithm);
    c.update(data);
    c.finalize_base64()
}

/// Incremental CRC-64/XZ (a.k.a. CRC-64/GO-ECMA), the `crc64ecma` of Alibaba
/// OSS (`x-oss-hash-crc64ecma`) and Tencent COS (`x-cos-hash-crc64ecma`).
pub struct Crc64Ecma {
    digest: crc::Digest<'static, u64, Table<16>>,
}

impl std::fmt::Debug for Crc64Ecma {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Crc64Ecma")
    }
}

impl Default for Crc64Ecma {
    fn default() -> Self {
        Self::new()
    }
}

impl Crc64Ecma {
    /// Starts a CRC over no bytes.
    pub fn new() -> Self {
        Crc64Ecma {
            digest: CRC64XZ.digest(),
        }
    }

    /// Feeds more bytes.
    pub fn update(&mut self, data: &[u8]) {
        self.digest.update(data);
    }

    /// The CRC value.
    pub fn finalize(self) -> u64 {
        self.digest.finalize()
    }

    /// The CRC as the vendors send it: an unsigned decimal string.
    pub fn finalize_decimal(self) -> String {
        self.finalize().to_string()
    }
}

/// One-shot CRC-64/XZ of `data` (see [`Crc64Ecma`]).
pub fn crc64_ecma(data: &[u8]) -> u64 {
    CRC64XZ.checksum(data)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const CHECK: &[u8] = b"123456789";

    fn raw(alg: ChecksumAlgorithm, data: &[u8]) -> Vec<u8> {
        let mut c = alg.hasher();
        c.update(data);
        c.finalize()
    }

    #[test]
    fn catalogue_check_values() {
        // The "check" values of the CRC catalogue (CRC of "123456789").
        assert_eq!(
            raw(ChecksumAlgorithm::Crc32, CHECK),
            0xCBF4_3926u32.to_be_bytes()
        );
        assert_eq!(
            raw(ChecksumAlgorithm::Crc32c, CHECK),
            0xE306_9283u32.to_be_bytes()
        );
        assert_eq!(
            raw(ChecksumAlgorithm::Crc64Nvme, CHECK),
            0xAE8B_1486_0A79_9888u64.to_be_bytes()
        );
        assert_eq!(crc64_ecma(CHECK), 0x995D_C9BB_DF19_39FA);
        let mut e = Crc64Ecma::new();
        e.update(b"1234");
        e.update(b"56789");
        assert_eq!(e.finalize_decimal(), 0x995D_C9BB_DF19_39FAu64.to_string());
    }

    #[test]
    fn s3_wire_form_is_base64_of_big_endian() {
        // Values S3 documents / returns for well-known inputs.
        assert_eq!(checksum_base64(ChecksumAlgorithm::Crc32, b""), "AAAAAA==");
        assert_eq!(
            checksum_base64(ChecksumAlgorithm::Crc32, b"Hello world"),
            "i9aeUg=="
        );
        assert_eq!(
            checksum_base64(ChecksumAlgorithm::Sha256, b""),
            "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
        );
        assert_eq!(
            checksum_base64(ChecksumAlgorithm::Sha1, b"abc"),
            "qZk+NkcGgWq6PiVxeFDCbJzQ2J0="
        );
    }

    #[test]
    fn incremental_equals_one_shot() {
        let data: Vec<u8> = (0..10_000u32).map(|i| (i * 7 + 3) as u8).collect();
        for alg in ChecksumAlgorithm::ALL {
            let mut c = alg.hasher();
            for piece in data.chunks(333) {
                c.update(piece);
            }
            assert_eq!(c.finalize_base64(), checksum_base64(alg, &data), "{alg}");
        }
    }

    #[test]
    fn names_round_trip() {
        for alg in ChecksumAlgorithm::ALL {
            assert_eq!(ChecksumAlgorithm::from_name(alg.as_str()), Some(alg));
            assert_eq!(
                ChecksumAlgorithm::from_header_name(alg.header_name()),
                Some(alg)
            );
            let v = checksum_base64(alg, b"x");
            assert_eq!(
                alg.decode_value(&v).map(|d| d.len()),
                Some(alg.digest_len())
            );
        }
        assert_eq!(
            ChecksumAlgorithm::from_header_name("x-amz-checksum-type"),
            None
        );
        assert_eq!(
            ChecksumAlgorithm::from_header_name("X-Amz-Checksum-CRC32"),
            Some(ChecksumAlgorithm::Crc32)
        );
        assert_eq!(ChecksumAlgorithm::Crc32.decode_value("AAAA"), None);
        assert_eq!(ChecksumAlgorithm::Crc32.decode_value("not base64!"), None);
    }
}
