//! Reading and patching TIFF structures in place: the one reader of the
//! crate's three TIFF walks (the TIFF source check in `probe`, EXIF
//! Orientation reset in `jpeg`, the EXIF an output keeps in `metadata`).
//! Every read is bounds-checked; nothing is allocated beyond the entry
//! list of one IFD.

/// A TIFF body (a TIFF file, or the body of an EXIF segment), read in its
/// byte order.
pub(crate) struct TiffReader<'a> {
    pub bytes: &'a [u8],
    pub little_endian: bool,
}

/// One IFD entry: its tag, type, count, the value's place in the block
/// (inline in the entry when 4 bytes or fewer) and where the entry is.
#[derive(Clone, Copy)]
pub(crate) struct Entry {
    pub tag: u16,
    pub kind: u16,
    pub count: u32,
    /// Offset of the 12-byte entry itself.
    pub at: usize,
    /// The value's byte range; `None` when out of the block.
    pub value: Option<(usize, usize)>,
}

impl<'a> TiffReader<'a> {
    /// A reader of `bytes` when they start with a TIFF byte-order mark
    /// (`II` or `MM`).
    pub fn new(bytes: &'a [u8]) -> Option<Self> {
        let little_endian = match bytes.get(0..2)? {
            b"II" => true,
            b"MM" => false,
            _ => return None,
        };
        Some(TiffReader {
            bytes,
            little_endian,
        })
    }

    pub fn u16_at(&self, at: usize) -> Option<u16> {
        let b = self.bytes.get(at..at.checked_add(2)?)?;
        Some(if self.little_endian {
            u16::from_le_bytes([b[0], b[1]])
        } else {
            u16::from_be_bytes([b[0], b[1]])
        })
    }

    pub fn u32_at(&self, at: usize) -> Option<u32> {
        let b = self.bytes.get(at..at.checked_add(4)?)?;
        let a = [b[0], b[1], b[2], b[3]];
        Some(if self.little_endian {
            u32::from_le_bytes(a)
        } else {
            u32::from_be_bytes(a)
        })
    }

    /// The offset of the first IFD.
    pub fn first_ifd(&self) -> Option<usize> {
        self.u32_at(4).map(|v| v as usize)
    }

    /// The entries of the IFD at `at`, and the offset just past it (its
    /// next-IFD link included); `None` when it does not fit in the block.
    pub fn ifd(&self, at: usize) -> Option<(Vec<Entry>, usize)> {
        let n = usize::from(self.u16_at(at)?);
        let end = at.checked_add(2 + 12 * n + 4)?;
        if end > self.bytes.len() {
            return None;
        }
        let entries = (0..n)
            .map(|k| {
                let e = at + 2 + 12 * k;
                let tag = self.u16_at(e).unwrap_or(0);
                let kind = self.u16_at(e + 2).unwrap_or(0);
                let count = self.u32_at(e + 4).unwrap_or(0);
                // Unknown types count as one byte a value, so a bogus
                // entry cannot make the walk overflow.
                let size = type_size(kind)
                    .unwrap_or(1)
                    .saturating_mul(u64::from(count));
                let value = if size <= 4 {
                    Some((e + 8, e + 8 + size as usize))
                } else {
                    self.u32_at(e + 8).and_then(|off| {
                        let start = off as usize;
                        let end = start.checked_add(usize::try_from(size).ok()?)?;
                        (end <= self.bytes.len()).then_some((start, end))
                    })
                };
                Entry {
                    tag,
                    kind,
                    count,
                    at: e,
                    value,
                }
            })
            .collect();
        Some((entries, end))
    }

    /// The IFD offset an entry points to (a LONG or IFD value).
    pub fn pointer(&self, e: &Entry) -> Option<usize> {
        matches!(e.kind, 4 | 13)
            .then(|| self.u32_at(e.at + 8))
            .flatten()
            .map(|v| v as usize)
    }
}

/// Bytes per value of a TIFF entry type (TIFF 6.0 §2, plus BigTIFF's
/// 8-byte types), `None` for a type readers skip.
pub(crate) fn type_size(kind: u16) -> Option<u64> {
    match kind {
        1 | 2 | 6 | 7 => Some(1),
        3 | 8 => Some(2),
        4 | 9 | 11 | 13 => Some(4),
        5 | 10 | 12 | 16 | 17 | 18 => Some(8),
        _ => None,
    }
}

/// Writes `value` as the inline value of the entry at `entry_at`, in the
/// width of its integer type (BYTE, SHORT or LONG, signed or not),
/// left-aligned as TIFF stores it. Another type, or a value its width
/// cannot hold, leaves the entry as it was.
pub(crate) fn write_inline(
    out: &mut [u8],
    little_endian: bool,
    entry_at: usize,
    kind: u16,
    value: u32,
) {
    let bytes: Vec<u8> = match kind {
        1 | 6 | 7 => match u8::try_from(value) {
            Ok(v) => vec![v],
            Err(_) => return,
        },
        3 | 8 => match u16::try_from(value) {
            Ok(v) if little_endian => v.to_le_bytes().to_vec(),
            Ok(v) => v.to_be_bytes().to_vec(),
            Err(_) => return,
        },
        4 | 9 if little_endian => value.to_le_bytes().to_vec(),
        4 | 9 => value.to_be_bytes().to_vec(),
        _ => return,
    };
    let start = entry_at.saturating_add(8);
    if let Some(slot) = out.get_mut(start..start.saturating_add(bytes.len())) {
        slot.copy_from_slice(&bytes);
    }
}
