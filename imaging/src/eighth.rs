//! JPEGs at 1/8 scale, decoding only what that scale needs.
//!
//! At 1/8 scale libjpeg-turbo turns each 8×8 block of a component into one
//! pixel, its DC coefficient, except for a component subsampled 2× both ways
//! (4:2:0 chroma), whose blocks become 2×2 pixels through a reduced IDCT of
//! some AC coefficients.
//!
//! * A progressive file sends the DC coefficients in scans of their own and
//!   each component's AC coefficients in others, so this decoder
//!   entropy-decodes only the DC scans and the AC scans of the components
//!   that need them. The other scans, about 80 % of a photo's bytes (all of
//!   luma's AC), are stepped over by looking for the marker that ends them,
//!   without Huffman-decoding a bit of them.
//! * A baseline (sequential) file interleaves every coefficient in one
//!   stream, so each must be Huffman-decoded to find the next; but an AC
//!   coefficient nobody needs is only stepped over: one table lookup gives
//!   the bits of a code and its value together, and of the code after it
//!   when both fit ([`Huffman::skip`]), without extracting either value.
//! * Every scan it decodes is first copied without its byte stuffing, one
//!   restart interval at a time ([`unstuff`]), so that the bit reader
//!   ([`Bits`]) refills without a branch and without looking for 0xFF, and
//!   the stepping loop looks up its next code before the refill lands.
//!
//! The result equals libjpeg-turbo's own 1/8-scale decode, pixel for pixel:
//! the same integer reduced IDCT and range limiting (`jidctred.c`), the same
//! upsampling (replication: libjpeg-turbo turns fancy upsampling off at this
//! scale) and the same YCbCr→RGB tables (`jdcolor.c`). Whatever it does not
//! reproduce exactly makes it step aside rather than guess: [`decode`] returns
//! `None` for arithmetic-coded or lossless files, other than 8-bit samples,
//! RGB, CMYK or unusual sampling, a scan script that would make libjpeg-turbo
//! smooth blocks or warn, any marker or segment libjpeg refuses, and any
//! corrupt data; the caller then runs libjpeg-turbo, which owns the error
//! messages. Tests compare both decoders on every JPEG photo of the corpus
//! and on generated files, and the `jpeg_eighth` fuzz target on any input.

use image::RgbaImage;

use crate::jpeg::next_marker;

/// Zigzag index → natural (row-major) index, with libjpeg's 16 extra
/// entries so that a run past coefficient 63 in corrupt data lands on 63
/// instead of out of bounds, as it does in libjpeg.
const NATURAL: [usize; 80] = [
    0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27, 20,
    13, 6, 7, 14, 21, 28, 35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51, 58, 59,
    52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63,
    63, 63, 63, 63, 63, 63,
];

/// Lookahead bits of the Huffman fast path (libjpeg uses 8; 9 catches a few
/// more AC codes of photos in one step).
const LOOKAHEAD: u32 = 9;

/// Lookahead bits of [`Huffman::skip`]. Measured on the corpus' baseline
/// photos: 11 bits were 1–6 % slower, 14 (a table past the L1 cache) 3–11 %.
const SKIP_BITS: u32 = 12;

/// What the next [`SKIP_BITS`] bits of an AC stream say when the values
/// are not wanted: how far to step, in bits and in coefficients, over the
/// next code and its value bits, and over the code after it too when that
/// one also starts inside the lookahead.
#[derive(Clone, Copy, Default)]
struct Skip {
    /// Bits of the first code and its value; 0 when the code is longer
    /// than the lookahead (the slow path decodes it).
    first_bits: u8,
    /// Coefficients the first code moves past ([`ac_advance`]).
    first_advance: u8,
    /// Bits of both codes and their values, and the coefficients both
    /// move past; the first code's alone when no second one starts in the
    /// lookahead (or the first ends the block). Taking these without a
    /// choice keeps the stepping loop's chain of dependent loads short;
    /// the rare first code that ends a block without an end-of-block code
    /// (at coefficient 63) is told apart by a branch.
    both_bits: u8,
    both_advance: u8,
}

/// Coefficients an AC symbol (run << 4 | size) moves past in a sequential
/// scan: the run and the coefficient itself, 16 for ZRL, and 64 for
/// end-of-block, which ends the block the way its last coefficient does.
fn ac_advance(symbol: u8) -> u8 {
    match (symbol >> 4, symbol & 15) {
        (15, 0) => 16,
        (_, 0) => 64,
        (run, _) => run + 1,
    }
}

/// Decodes a JPEG at 1/8 scale into RGBA, or returns `None` when
/// the file is not one this decoder reproduces exactly (see the module doc).
/// `size` is the frame size the caller's header walk checked the limits on;
/// a file whose frame header says otherwise is left to libjpeg-turbo.
pub(crate) fn decode(data: &[u8], size: (u32, u32)) -> Option<RgbaImage> {
    let mut decoder = Decoder::default();
    decoder.read(data, size)?;
    decoder.render()
}

/// A Huffman table, derived as in libjpeg's `jpeg_make_d_derived_tbl`.
struct Huffman {
    /// `(length << 8) | symbol` for codes of at most [`LOOKAHEAD`] bits,
    /// indexed by the next `LOOKAHEAD` bits; 0 where the code is longer.
    fast: Vec<u16>,
    /// Largest code of each length (-1 when there is none), index 1..=16.
    max_code: [i32; 18],
    /// Symbol index minus the first code of each length.
    offset: [i32; 17],
    symbols: Vec<u8>,
    /// Largest symbol, for the DC-table check (DC symbols are bit counts).
    max_symbol: u8,
    /// For AC tables, indexed by the next [`SKIP_BITS`] bits: how to step
    /// over coefficients whose values are not needed.
    /// Empty for DC tables.
    skip: Option<Box<[Skip; 1 << SKIP_BITS]>>,
}

impl Huffman {
    fn new(counts: &[u8; 16], symbols: &[u8], ac: bool) -> Option<Huffman> {
        let mut fast = vec![0u16; 1 << LOOKAHEAD];
        let mut max_code = [-1i32; 18];
        let mut offset = [0i32; 17];
        let mut code: u32 = 0;
        let mut k = 0usize;
        for len in 1..=16u32 {
            let n = counts[len as usize - 1] as usize;
            if n > 0 {
                offset[len as usize] = k as i32 - code as i32;
                for _ in 0..n {
                    if len <= LOOKAHEAD {
                        let shift = LOOKAHEAD - len;
                        let first = (code << shift) as usize;
                        let entry = ((len as u16) << 8) | u16::from(*symbols.get(k)?);
                        fast.get_mut(first..first + (1 << shift))?.fill(entry);
                    }
                    code += 1;
                    k += 1;
                }
                max_code[len as usize] = code as i32 - 1;
            }
            // As libjpeg: the codes of one length must fit in it, and the
            // all-ones code is not allowed.
            if code >= 1 << len {
                return None;
            }
            code <<= 1;
        }
        let symbols = symbols.get(..k)?.to_vec();
        let max_symbol = symbols.iter().copied().max().unwrap_or(0);
        let skip = ac.then(|| skip_table(counts, &symbols));
        Some(Huffman {
            fast,
            max_code,
            offset,
            symbols,
            max_symbol,
            skip,
        })
    }
}

/// Builds [`Huffman::skip`] for a table whose codes were already checked
/// by [`Huffman::new`].
fn skip_table(counts: &[u8; 16], symbols: &[u8]) -> Box<[Skip; 1 << SKIP_BITS]> {
    let size = 1usize << SKIP_BITS;
    // (code length, symbol) of the code each lookahead value starts with.
    let mut codes = vec![(0u32, 0u8); size];
    let (mut code, mut k) = (0usize, 0usize);
    for len in 1..=SKIP_BITS {
        for _ in 0..counts[len as usize - 1] {
            let shift = SKIP_BITS - len;
            codes[code << shift..(code + 1) << shift].fill((len, symbols[k]));
            code += 1;
            k += 1;
        }
        code <<= 1;
    }
    let mut table = Box::new([Skip::default(); 1 << SKIP_BITS]);
    for (index, entry) in table.iter_mut().enumerate() {
        let (len, symbol) = codes[index];
        if len == 0 {
            continue;
        }
        let first_bits = len + u32::from(symbol & 15);
        entry.first_bits = first_bits as u8;
        entry.first_advance = ac_advance(symbol);
        entry.both_bits = entry.first_bits;
        entry.both_advance = entry.first_advance;
        if entry.first_advance == 64 || first_bits >= SKIP_BITS {
            continue;
        }
        // The bits after the first code and its value, zero-filled: a code
        // found there that fits in the bits actually known is the next one.
        let (len2, symbol2) = codes[(index << first_bits) & (size - 1)];
        if len2 != 0 && len2 <= SKIP_BITS - first_bits {
            entry.both_bits = (first_bits + len2 + u32::from(symbol2 & 15)) as u8;
            entry.both_advance = entry.first_advance + ac_advance(symbol2);
        }
    }
    table
}

/// The entropy-coded data of one restart interval (or of a whole scan
/// without them) from `pos` to the marker that ends it, with byte stuffing
/// removed as libjpeg reads it (0xFF, any more 0xFF, then 0 is one 0xFF
/// data byte), into `out`, followed by 8 zero bytes: what libjpeg supplies
/// past a marker, and what lets [`Bits::fill`] load 8 bytes anywhere
/// without a check. Returns where the marker starts (its first 0xFF), or
/// the end of the data when no marker follows.
fn unstuff(data: &[u8], pos: usize, out: &mut Vec<u8>) -> Option<usize> {
    out.clear();
    let rest = data.get(pos..)?;
    let mut i = 0;
    let marker_at = loop {
        let Some(n) = memchr::memchr(0xFF, &rest[i..]) else {
            out.extend_from_slice(&rest[i..]);
            break data.len();
        };
        out.extend_from_slice(&rest[i..i + n]);
        let mut next = i + n + 1;
        while rest.get(next) == Some(&0xFF) {
            next += 1;
        }
        if rest.get(next) != Some(&0) {
            break pos + i + n;
        }
        out.push(0xFF);
        i = next + 1;
    };
    out.extend_from_slice(&[0; 8]);
    Some(marker_at)
}

/// A bit reader over one interval's [`unstuff`]ed data.
///
/// Past the data it supplies zero bits, as libjpeg does at a marker, and
/// [`Bits::overran`] tells whether a decode consumed any: libjpeg would
/// warn about that, so the caller steps aside.
#[derive(Clone, Copy)]
struct Bits<'a> {
    /// The interval's bytes, then 8 zero bytes.
    data: &'a [u8],
    /// How many of `data`'s bytes are the interval's.
    end: usize,
    /// Next byte to load (past `end` once the data is used up).
    pos: usize,
    /// The next 64 bits of the stream, most significant first: `count` of
    /// them loaded from the bytes before `pos`, the rest from the bytes
    /// after it (a refill loads them again), or zeros just consumed.
    acc: u64,
    /// Number of bits in `acc` from the bytes before `pos`.
    count: u32,
}

impl<'a> Bits<'a> {
    /// `data` as [`unstuff`] leaves it.
    fn new(data: &'a [u8]) -> Self {
        Bits {
            data,
            end: data.len().saturating_sub(8),
            pos: 0,
            acc: 0,
            count: 0,
        }
    }

    /// Tops the buffer up to at least 56 bits without a branch (the
    /// "variant 4" refill of Fabian Giesen's "Reading bits in far too many
    /// ways"): 8 bytes are loaded whatever is needed and the whole bytes
    /// that fit are counted. Past the data the loads come from the 8 zero
    /// bytes after it.
    #[inline(always)]
    fn fill(&mut self) {
        let at = self.pos.min(self.end);
        let word = match self.data.get(at..).and_then(<[u8]>::first_chunk::<8>) {
            Some(w) => u64::from_be_bytes(*w),
            None => 0,
        };
        self.acc |= word >> self.count;
        self.pos += ((63 - self.count) >> 3) as usize;
        self.count |= 56;
    }

    /// Drops `n` buffered bits (the caller made sure there are).
    ///
    /// Whether any of them lay past the data is not checked here, on the
    /// hot path, but by [`Bits::overran`]: the bits consumed only grow.
    #[inline]
    fn consume(&mut self, n: u32) {
        self.acc <<= n;
        self.count -= n;
    }

    /// Some bits consumed so far lay past the data.
    fn overran(&self) -> bool {
        self.pos * 8 > self.end * 8 + self.count as usize
    }

    /// The next `n` bits (0..=16) as an unsigned number.
    #[inline(always)]
    fn bits(&mut self, n: u32) -> u32 {
        if self.count < n {
            self.fill();
        }
        // Two shifts, so that n = 0 (a DC difference of 0, frequent and
        // unpredictable) needs no branch of its own.
        let v = ((self.acc >> 1) >> (63 - n)) as u32;
        self.consume(n);
        v
    }

    fn bit(&mut self) -> bool {
        self.bits(1) == 1
    }

    /// `n` bits as a signed coefficient (JPEG's EXTEND).
    #[inline(always)]
    fn extended(&mut self, n: u32) -> i32 {
        let v = self.bits(n) as i32;
        // Without a branch, since the sign is as unpredictable as the
        // photo: a value below 2^(n-1) (its top bit clear) is negative,
        // v - 2^n + 1. For n = 0, v = 0 and the mask is all ones but the
        // offset is 0.
        let negative = (v - (1 << n.saturating_sub(1))) >> 31;
        v + (negative & ((-1i32 << n) + 1))
    }

    #[inline(always)]
    fn decode(&mut self, table: &Huffman) -> Option<u8> {
        if self.count < 32 {
            self.fill();
        }
        let entry = table.fast[(self.acc >> (64 - LOOKAHEAD)) as usize];
        if entry != 0 {
            self.consume(u32::from(entry >> 8));
            return Some(entry as u8);
        }
        let code16 = (self.acc >> 48) as i32;
        for len in (LOOKAHEAD + 1)..=16 {
            let code = code16 >> (16 - len);
            if code <= table.max_code[len as usize] {
                self.consume(len);
                let index = table.offset[len as usize] + code;
                return table.symbols.get(usize::try_from(index).ok()?).copied();
            }
        }
        None
    }
}

/// Position of the first marker after entropy-coded data starting at `pos`
/// that is not a restart marker: where a skipped scan ends.
fn end_of_scan(data: &[u8], mut pos: usize) -> Option<usize> {
    loop {
        let (code, after) = next_marker(data, pos)?;
        if !(0xD0..=0xD7).contains(&code) {
            return Some(after - 2);
        }
        pos = after;
    }
}

struct Component {
    id: u8,
    h: usize,
    v: usize,
    quant_index: usize,
    /// The quantization table in natural order, latched at the component's
    /// first scan as libjpeg does (a later DQT does not change it).
    quant: Option<[u16; 64]>,
    /// Output samples per block side at 1/8 scale: 1, or 2 for 4:2:0 chroma.
    scaled: usize,
    /// Blocks per row and rows of blocks, padded to whole MCUs.
    padded_w: usize,
    padded_h: usize,
    /// Blocks a single-component scan covers (the component's own size).
    blocks_w: usize,
    blocks_h: usize,
    /// Coefficients kept per block: the DC alone (`scaled == 1`), whole
    /// blocks (`scaled == 2`, progressive), or none (`scaled == 2`,
    /// sequential: see `reduced`).
    stride: usize,
    coefs: Vec<i16>,
    /// A sequential 4:2:0 chroma component's 2×2 samples per block, from
    /// the reduced IDCT as soon as the block is decoded: 4 bytes a block
    /// instead of 128 for its coefficients.
    reduced: Vec<[[u8; 2]; 2]>,
    /// libjpeg's `coef_bits`: per zigzag position, the low bit the last
    /// scan sent (-1: never sent).
    coef_bits: [i32; 64],
    dc_pred: i32,
    dc_table: usize,
    ac_table: usize,
}

#[derive(Default)]
struct Decoder {
    quant: [Option<[u16; 64]>; 4],
    dc_tables: [Option<Huffman>; 4],
    ac_tables: [Option<Huffman>; 4],
    components: Vec<Component>,
    width: usize,
    height: usize,
    h_max: usize,
    v_max: usize,
    mcus_w: usize,
    mcus_h: usize,
    restart_interval: usize,
    /// SOF2; otherwise sequential (SOF0 baseline or SOF1 extended).
    progressive: bool,
    saw_jfif: bool,
    adobe_transform: Option<u8>,
}

fn be16(data: &[u8], at: usize) -> Option<usize> {
    Some(usize::from(*data.get(at)?) << 8 | usize::from(*data.get(at + 1)?))
}

impl Decoder {
    /// Walks the markers to EOI, decoding the scans that matter.
    fn read(&mut self, data: &[u8], size: (u32, u32)) -> Option<()> {
        if data.get(..2)? != [0xFF, 0xD8] {
            return None;
        }
        let mut pos = 2;
        loop {
            let (marker, after) = next_marker(data, pos)?;
            pos = after;
            match marker {
                0xD9 => return Some(()),
                0xD8 => return None,
                // Stray restart markers and TEM carry no segment; libjpeg
                // ignores them between segments.
                0xD0..=0xD7 | 0x01 => continue,
                _ => {}
            }
            let len = be16(data, pos)?;
            let segment = data.get(pos + 2..pos.checked_add(len)?)?;
            if len < 2 {
                return None;
            }
            pos += len;
            match marker {
                0xC0..=0xC2 => {
                    self.progressive = marker == 0xC2;
                    self.frame(segment, size)?;
                }
                // Lossless, arithmetic, hierarchical: not this decoder's
                // business.
                m if crate::jpeg::is_sof(m) => return None,
                0xC4 => self.huffman_tables(segment)?,
                0xDB => self.quant_tables(segment)?,
                // libjpeg checks each segment's length against what it
                // holds ("Bogus marker length"); so does this decoder.
                0xDD if segment.len() == 2 => self.restart_interval = be16(segment, 0)?,
                0xDD => return None,
                0xDA => pos = self.scan(data, segment, pos)?,
                0xE0 => self.saw_jfif |= segment.len() >= 14 && segment.starts_with(b"JFIF\0"),
                0xEE if segment.len() >= 12 && segment.starts_with(b"Adobe") => {
                    self.adobe_transform = Some(segment[11]);
                }
                // What else libjpeg reads and passes over: DNL, the other
                // APPn, COM. Any other marker is an error there
                // ("Unsupported marker type"), or may be: DAC, whose
                // arithmetic-coding values libjpeg checks although Huffman
                // scans never use them. Neither is read past here.
                0xDC | 0xE0..=0xEF | 0xFE => {}
                _ => return None,
            }
        }
    }

    fn frame(&mut self, s: &[u8], size: (u32, u32)) -> Option<()> {
        if !self.components.is_empty() || *s.first()? != 8 {
            return None;
        }
        self.height = be16(s, 1)?;
        self.width = be16(s, 3)?;
        if (self.width as u64, self.height as u64) != (u64::from(size.0), u64::from(size.1))
            || self.width == 0
            || self.height == 0
        {
            return None;
        }
        let n = usize::from(*s.get(5)?);
        if n != 1 && n != 3 || s.len() != 6 + 3 * n {
            return None;
        }
        let mut specs = Vec::with_capacity(n);
        for c in 0..n {
            let (id, hv, tq) = (s[6 + 3 * c], s[7 + 3 * c], s[8 + 3 * c]);
            let (h, v) = (usize::from(hv >> 4), usize::from(hv & 15));
            if !(1..=4).contains(&h) || !(1..=4).contains(&v) || tq > 3 {
                return None;
            }
            specs.push((id, h, v, usize::from(tq)));
        }
        self.h_max = specs.iter().map(|c| c.1).max()?;
        self.v_max = specs.iter().map(|c| c.2).max()?;
        // libjpeg refuses an MCU of more than 10 blocks.
        if n > 1 && specs.iter().map(|c| c.1 * c.2).sum::<usize>() > 10 {
            return None;
        }
        self.mcus_w = self.width.div_ceil(8 * self.h_max);
        self.mcus_h = self.height.div_ceil(8 * self.v_max);
        for (id, h, v, quant_index) in specs {
            // libjpeg-turbo's choice (jdmaster.c): a subsampled component
            // is scaled up by the IDCT rather than by upsampling when its
            // factors divide evenly both ways.
            let mut scaled = 1;
            while scaled < 8
                && self.h_max % (h * scaled * 2) == 0
                && self.v_max % (v * scaled * 2) == 0
            {
                scaled *= 2;
            }
            if scaled > 2 || self.h_max % (h * scaled) != 0 || self.v_max % (v * scaled) != 0 {
                return None;
            }
            let (padded_w, padded_h) = (self.mcus_w * h, self.mcus_h * v);
            let blocks = padded_w.checked_mul(padded_h)?;
            let (stride, reduced) = match (scaled, self.progressive) {
                (1, _) => (1, 0),
                (_, true) => (64, 0),
                (_, false) => (0, blocks),
            };
            self.components.push(Component {
                id,
                h,
                v,
                quant_index,
                quant: None,
                scaled,
                padded_w,
                padded_h,
                blocks_w: (self.width * h).div_ceil(self.h_max).div_ceil(8),
                blocks_h: (self.height * v).div_ceil(self.v_max).div_ceil(8),
                stride,
                coefs: vec![0; blocks.checked_mul(stride)?],
                reduced: vec![[[0; 2]; 2]; reduced],
                coef_bits: [-1; 64],
                dc_pred: 0,
                dc_table: 0,
                ac_table: 0,
            });
        }
        Some(())
    }

    fn huffman_tables(&mut self, mut s: &[u8]) -> Option<()> {
        while !s.is_empty() {
            let class_id = *s.first()?;
            let counts: [u8; 16] = s.get(1..17)?.try_into().ok()?;
            let total: usize = counts.iter().map(|&c| usize::from(c)).sum();
            if total > 256 {
                return None;
            }
            let table = Huffman::new(&counts, s.get(17..17 + total)?, class_id >> 4 == 1)?;
            let index = usize::from(class_id & 15);
            match (class_id >> 4, index) {
                (0, 0..=3) => self.dc_tables[index] = Some(table),
                (1, 0..=3) => self.ac_tables[index] = Some(table),
                _ => return None,
            }
            s = &s[17 + total..];
        }
        Some(())
    }

    fn quant_tables(&mut self, mut s: &[u8]) -> Option<()> {
        while !s.is_empty() {
            let pq_tq = *s.first()?;
            let (wide, index) = (pq_tq >> 4, usize::from(pq_tq & 15));
            if index > 3 || wide > 1 {
                return None;
            }
            let mut table = [0u16; 64];
            let size = if wide == 1 { 2 } else { 1 };
            let values = s.get(1..1 + 64 * size)?;
            for (k, natural) in NATURAL.iter().take(64).enumerate() {
                table[*natural] = if wide == 1 {
                    u16::from_be_bytes([values[2 * k], values[2 * k + 1]])
                } else {
                    u16::from(values[k])
                };
            }
            self.quant[index] = Some(table);
            s = &s[1 + 64 * size..];
        }
        Some(())
    }

    /// Reads one scan header and its data from `pos`; returns where the
    /// data ends.
    fn scan(&mut self, data: &[u8], s: &[u8], pos: usize) -> Option<usize> {
        if self.components.is_empty() {
            return None;
        }
        let n = usize::from(*s.first()?);
        if !(1..=4).contains(&n) || s.len() != 4 + 2 * n {
            return None;
        }
        let mut members: Vec<usize> = Vec::with_capacity(n);
        for i in 0..n {
            let (id, tables) = (s[1 + 2 * i], s[2 + 2 * i]);
            // libjpeg's get_sos, quirk included: a component is taken when
            // the scan slot of its *frame* index is still free, so a scan
            // must list its components in frame order (as the standard
            // says), or libjpeg stops with "Invalid component ID".
            let c = (0..self.components.len())
                .find(|&c| self.components[c].id == id && members.len() <= c)?;
            if members.contains(&c) {
                return None;
            }
            self.components[c].dc_table = usize::from(tables >> 4);
            self.components[c].ac_table = usize::from(tables & 15);
            members.push(c);
        }
        let (ss, se) = (usize::from(s[1 + 2 * n]), usize::from(s[2 + 2 * n]));
        let (ah, al) = (u32::from(s[3 + 2 * n] >> 4), u32::from(s[3 + 2 * n] & 15));

        // libjpeg's start_pass_phuff_decoder and start_pass_huff_decoder:
        // errors and warnings both send the file to libjpeg-turbo.
        let sequential = !self.progressive;
        let dc = ss == 0;
        let bad = if sequential {
            se != 63 || ah != 0 || al != 0
        } else if dc {
            se != 0
        } else {
            ss > se || se > 63 || n != 1
        };
        if bad || (ah != 0 && al + 1 != ah) || al > 13 {
            return None;
        }
        for &c in &members {
            let comp = &mut self.components[c];
            if !dc && comp.coef_bits[0] < 0 || sequential && comp.coef_bits[0] >= 0 {
                return None;
            }
            for k in ss..=se {
                if ah as i32 != comp.coef_bits[k].max(0) {
                    return None;
                }
                comp.coef_bits[k] = al as i32;
            }
            if comp.quant.is_none() {
                comp.quant = Some(self.quant[comp.quant_index]?);
            }
            let table = if dc {
                if ah != 0 {
                    continue;
                }
                self.dc_tables.get(comp.dc_table)?.as_ref()?
            } else {
                self.ac_tables.get(comp.ac_table)?.as_ref()?
            };
            if dc && table.max_symbol > 15 {
                return None;
            }
            if sequential {
                self.ac_tables.get(comp.ac_table)?.as_ref()?;
            }
        }
        if !dc && self.components[members[0]].scaled == 1 {
            // AC of a component whose 1/8-scale pixels are its DC values.
            return end_of_scan(data, pos);
        }
        let scan = Scan {
            members,
            sequential,
            ss,
            se,
            ah,
            al,
        };
        self.decode_scan(data, pos, &scan)
    }

    /// Decodes the scan whose data starts at `pos`, restart interval by
    /// restart interval; returns where the marker after it starts.
    fn decode_scan(&mut self, data: &[u8], mut pos: usize, scan: &Scan) -> Option<usize> {
        let Decoder {
            components,
            dc_tables,
            ac_tables,
            restart_interval,
            ..
        } = self;
        // Each member's tables, looked up once rather than per block.
        let tables: Vec<(Option<&Huffman>, Option<&Huffman>)> = scan
            .members
            .iter()
            .map(|&c| {
                let comp = &components[c];
                let dc = dc_tables.get(comp.dc_table).and_then(Option::as_ref);
                let ac = ac_tables.get(comp.ac_table).and_then(Option::as_ref);
                (dc, ac)
            })
            .collect();
        let (per_row, rows) = if scan.members.len() == 1 {
            let c = &components[scan.members[0]];
            (c.blocks_w, c.blocks_h)
        } else {
            (self.mcus_w, self.mcus_h)
        };
        let units = per_row.checked_mul(rows)?;
        let interval = if *restart_interval > 0 {
            *restart_interval
        } else {
            units.max(1)
        };
        // One interval's unstuffed data at a time: at most the scan's size.
        let mut buffer = Vec::new();
        let mut unit = 0usize;
        let mut next_restart = 0u8;
        loop {
            let marker_at = unstuff(data, pos, &mut buffer)?;
            let mut bits = Bits::new(&buffer);
            for &c in &scan.members {
                components[c].dc_pred = 0;
            }
            let mut eob_run = 0u32;
            let last = unit.saturating_add(interval).min(units);
            while unit < last {
                let (x, y) = (unit % per_row, unit / per_row);
                unit += 1;
                if let [c] = scan.members[..] {
                    let comp = &mut components[c];
                    let (dc, ac) = tables[0];
                    let number = y * comp.padded_w + x;
                    let block = number * comp.stride;
                    if scan.sequential {
                        sequential_block(&mut bits, comp, number, dc?, ac?)?;
                    } else if scan.ss == 0 && scan.ah != 0 {
                        dc_refine(&mut bits, comp, block, scan)?;
                    } else if scan.ss == 0 {
                        dc_block(&mut bits, comp, block, dc?, scan)?;
                    } else {
                        let coefs = comp.coefs.get_mut(block..block + 64)?;
                        if scan.ah == 0 {
                            ac_first(&mut bits, coefs, ac?, scan, &mut eob_run)?;
                        } else {
                            ac_refine(&mut bits, coefs, ac?, scan, &mut eob_run)?;
                        }
                    }
                } else {
                    for (&c, &(dc, ac)) in scan.members.iter().zip(&tables) {
                        let comp = &mut components[c];
                        for by in 0..comp.v {
                            let row = (y * comp.v + by) * comp.padded_w + x * comp.h;
                            for bx in 0..comp.h {
                                let number = row + bx;
                                let block = number * comp.stride;
                                if scan.sequential {
                                    sequential_block(&mut bits, comp, number, dc?, ac?)?;
                                } else if scan.ah != 0 {
                                    dc_refine(&mut bits, comp, block, scan)?;
                                } else {
                                    dc_block(&mut bits, comp, block, dc?, scan)?;
                                }
                            }
                        }
                    }
                }
                // Truncated data reads as zeros, which decode; stop at the
                // end of the row rather than run through a huge frame.
                if x + 1 == per_row && bits.overran() {
                    return None;
                }
            }
            if bits.overran() {
                return None;
            }
            if unit >= units {
                return Some(marker_at);
            }
            // libjpeg drops the bits left and reads the next marker, which
            // must be the next restart marker; a different one would need
            // its resynchronisation, which is left to it.
            let (marker, after) = next_marker(data, marker_at)?;
            if marker != 0xD0 + next_restart {
                return None;
            }
            next_restart = (next_restart + 1) & 7;
            pos = after;
        }
    }

    /// The 1/8-scale image, once every scan is read.
    fn render(&self) -> Option<RgbaImage> {
        // libjpeg-turbo smooths blocks whose low AC coefficients are not
        // all known exactly (jdcoefct.c, smoothing_ok); such files are its.
        let mut smoothing = false;
        for c in &self.components {
            let q = c.quant?;
            if c.coef_bits[0] < 0 {
                return None;
            }
            // Zigzag 1..=9, at natural positions 1, 8, 16, 9, 2, 3, 10, 17, 24.
            if [0usize, 1, 8, 16, 9, 2, 3, 10, 17, 24]
                .iter()
                .all(|&i| q[i] != 0)
            {
                smoothing |= c.coef_bits[1..10].iter().any(|&b| b != 0);
            }
        }
        if smoothing {
            return None;
        }
        let color = match self.components.len() {
            1 => Color::Gray,
            3 if self.saw_jfif => Color::YCbCr,
            3 => match self.adobe_transform {
                Some(1) => Color::YCbCr,
                Some(_) => return None,
                None => {
                    let ids: Vec<u8> = self.components.iter().map(|c| c.id).collect();
                    if ids == [82, 71, 66] {
                        return None;
                    }
                    Color::YCbCr
                }
            },
            _ => return None,
        };
        let (out_w, out_h) = (self.width.div_ceil(8), self.height.div_ceil(8));
        let planes: Vec<Plane> = self
            .components
            .iter()
            .map(|c| c.plane(self.h_max, self.v_max, out_w, out_h))
            .collect::<Option<_>>()?;
        let mut out = vec![0u8; out_w.checked_mul(out_h)?.checked_mul(4)?];
        match color {
            Color::Gray => {
                let p = &planes[0];
                let xs = p.columns(out_w);
                for (y, row) in out.chunks_exact_mut(out_w * 4).enumerate() {
                    let src = &p.samples[(y / p.v_expand) * p.width..];
                    for (px, &x) in row.chunks_exact_mut(4).zip(&xs) {
                        let g = src[x];
                        px.copy_from_slice(&[g, g, g, 255]);
                    }
                }
            }
            Color::YCbCr => {
                let t = ColorTables::new();
                let (py, pb, pr) = (&planes[0], &planes[1], &planes[2]);
                let (xy, xb, xr) = (py.columns(out_w), pb.columns(out_w), pr.columns(out_w));
                for (y, row) in out.chunks_exact_mut(out_w * 4).enumerate() {
                    let ys = &py.samples[(y / py.v_expand) * py.width..];
                    let bs = &pb.samples[(y / pb.v_expand) * pb.width..];
                    let rs = &pr.samples[(y / pr.v_expand) * pr.width..];
                    for (x, px) in row.chunks_exact_mut(4).enumerate() {
                        let luma = i32::from(ys[xy[x]]);
                        let cb = usize::from(bs[xb[x]]);
                        let cr = usize::from(rs[xr[x]]);
                        let g = ((t.cb_g[cb] + t.cr_g[cr]) >> 16) as i32;
                        px.copy_from_slice(&[
                            clamp(luma + t.cr_r[cr]),
                            clamp(luma + g),
                            clamp(luma + t.cb_b[cb]),
                            255,
                        ]);
                    }
                }
            }
        }
        RgbaImage::from_raw(out_w as u32, out_h as u32, out)
    }
}

struct Scan {
    members: Vec<usize>,
    /// A baseline or extended scan: every coefficient of its components.
    sequential: bool,
    ss: usize,
    se: usize,
    ah: u32,
    al: u32,
}

fn dc_block(
    bits: &mut Bits<'_>,
    comp: &mut Component,
    block: usize,
    table: &Huffman,
    scan: &Scan,
) -> Option<()> {
    let size = u32::from(bits.decode(table)?);
    let diff = bits.extended(size);
    comp.dc_pred = comp.dc_pred.checked_add(diff)?;
    // libjpeg: (JCOEF)LEFT_SHIFT(s, Al), a shift in a long then a
    // truncation to 16 bits.
    *comp.coefs.get_mut(block)? = ((comp.dc_pred as i64 as u64) << scan.al) as i16;
    Some(())
}

/// One block of a sequential scan (libjpeg's decode_mcu), block `number`
/// of its component: its DC, then its AC coefficients, which are stepped
/// over unless the component's 1/8-scale IDCT reads them (4:2:0 chroma).
#[inline(always)]
fn sequential_block(
    bits: &mut Bits<'_>,
    comp: &mut Component,
    number: usize,
    dc: &Huffman,
    ac: &Huffman,
) -> Option<()> {
    if comp.scaled == 1 {
        let dc_value = dc_then_skip_ac(bits, dc, ac)?;
        comp.dc_pred = comp.dc_pred.checked_add(dc_value)?;
        *comp.coefs.get_mut(number)? = comp.dc_pred as i16;
        return Some(());
    }
    reduced_block(bits, comp, number, dc, ac)
}

/// A whole block of a sequential 4:2:0 chroma component, turned into its
/// 2×2 samples at once. Kept out of line, so that the luma loop it would
/// be inlined into keeps its registers.
#[inline(never)]
fn reduced_block(
    bits: &mut Bits<'_>,
    comp: &mut Component,
    number: usize,
    dc: &Huffman,
    ac: &Huffman,
) -> Option<()> {
    let size = bits.decode(dc)?;
    comp.dc_pred = comp.dc_pred.checked_add(bits.extended(size.into()))?;
    let mut coefs = [0i16; 64];
    coefs[0] = comp.dc_pred as i16;
    ac_values(bits, &mut coefs, ac, (1, 63, 0), None)?;
    *comp.reduced.get_mut(number)? = idct_2x2(&coefs, &comp.quant?)?;
    Some(())
}

/// Coefficients `ss..=se` of one block into `block` (natural order),
/// shifted left by `al`: libjpeg's decode_mcu (sequential, `eob_run` is
/// `None`: a zero-size code other than ZRL ends the block) and
/// decode_mcu_AC_first (progressive: that code starts a run of blocks
/// without coefficients, `2^r` plus `r` more bits long, this one included).
#[inline(always)]
fn ac_values(
    bits: &mut Bits<'_>,
    block: &mut [i16],
    table: &Huffman,
    (ss, se, al): (usize, usize, u32),
    eob_run: Option<&mut u32>,
) -> Option<()> {
    // A copy that never has its address taken, with every method it calls
    // inlined, lives in registers: through `&mut Bits` the compiler kept
    // the buffer in memory, a store and a reload on every code.
    let mut b = *bits;
    let mut k = ss;
    while k <= se {
        let rs = b.decode(table)?;
        let (r, s) = (usize::from(rs >> 4), u32::from(rs & 15));
        if s != 0 {
            k += r;
            let v = b.extended(s);
            *block.get_mut(NATURAL[k.min(79)])? = ((v as i64 as u64) << al) as i16;
        } else if r == 15 {
            k += 15;
        } else {
            if let Some(run) = eob_run {
                *run = (1 << r) + b.bits(r as u32) - 1;
            }
            break;
        }
        k += 1;
    }
    *bits = b;
    Some(())
}

/// Decodes one block's DC difference and steps over its AC coefficients
/// in a sequential scan, two codes per lookup where [`Huffman::skip`] has
/// them: the loop that most of a baseline photo's decode time goes to.
/// Codes longer than a lookahead take [`Bits::decode`]; one that matches
/// nothing (which libjpeg-turbo warns about) is `None`.
#[inline(always)]
fn dc_then_skip_ac(bits: &mut Bits<'_>, dc: &Huffman, ac: &Huffman) -> Option<i32> {
    let skip = ac.skip.as_deref()?;
    // In registers, as in ac_values.
    let mut b = *bits;
    let size = b.decode(dc)?;
    let diff = b.extended(size.into());
    // Two branches per step decide whether the block goes on (its end is
    // as unpredictable as the photo, once per block); how far a step goes
    // is read from the entry without a choice ([`Skip::both_bits`]).
    let mut k = 1u32;
    b.fill();
    while k < 64 {
        // The lookup reads the bits before the refill, so that the load
        // does not wait for it: a step consumes at most 31 bits of the 56
        // a refill leaves, and every bit of the buffer is the stream's.
        // An index of SKIP_BITS bits: always inside the array.
        let step = skip[(b.acc >> (64 - SKIP_BITS)) as usize];
        b.fill();
        if step.first_bits == 0 {
            let symbol = b.decode(ac)?;
            b.bits(u32::from(symbol & 15));
            k += u32::from(ac_advance(symbol));
            continue;
        }
        // The first code ends the block: the second one, if any, is the
        // next block's DC. An end-of-block code as the first one comes
        // here too (it has no second).
        if k + u32::from(step.first_advance) >= 64 {
            b.consume(step.first_bits.into());
            break;
        }
        b.consume(step.both_bits.into());
        k += u32::from(step.both_advance);
    }
    *bits = b;
    Some(diff)
}

fn dc_refine(bits: &mut Bits<'_>, comp: &mut Component, block: usize, scan: &Scan) -> Option<()> {
    if bits.bit() {
        *comp.coefs.get_mut(block)? |= (1i32 << scan.al) as i16;
    }
    Some(())
}

/// libjpeg's decode_mcu_AC_first for one block.
fn ac_first(
    bits: &mut Bits<'_>,
    block: &mut [i16],
    table: &Huffman,
    scan: &Scan,
    eob_run: &mut u32,
) -> Option<()> {
    if *eob_run > 0 {
        *eob_run -= 1;
        return Some(());
    }
    ac_values(
        bits,
        block,
        table,
        (scan.ss, scan.se, scan.al),
        Some(eob_run),
    )
}

/// libjpeg's decode_mcu_AC_refine for one block.
fn ac_refine(
    bits: &mut Bits<'_>,
    block: &mut [i16],
    table: &Huffman,
    scan: &Scan,
    eob_run: &mut u32,
) -> Option<()> {
    let p1 = (1i32 << scan.al) as i16;
    let m1 = (-1i32 << scan.al) as i16;
    let refine = |bits: &mut Bits<'_>, coef: &mut i16| {
        if bits.bit() && *coef & p1 == 0 {
            *coef = coef.wrapping_add(if *coef >= 0 { p1 } else { m1 });
        }
    };
    let mut k = scan.ss;
    if *eob_run == 0 {
        while k <= scan.se {
            let rs = bits.decode(table)?;
            let (mut r, s) = (i32::from(rs >> 4), rs & 15);
            let new_value = if s != 0 {
                if s != 1 {
                    return None; // libjpeg warns: bad Huffman code
                }
                if bits.bit() {
                    p1
                } else {
                    m1
                }
            } else {
                if r != 15 {
                    *eob_run = (1 << r) + bits.bits(r as u32);
                    break;
                }
                0
            };
            loop {
                let coef = &mut block[NATURAL[k.min(79)]];
                if *coef != 0 {
                    refine(bits, coef);
                } else {
                    r -= 1;
                    if r < 0 {
                        break;
                    }
                }
                k += 1;
                if k > scan.se {
                    break;
                }
            }
            if new_value != 0 {
                block[NATURAL[k.min(79)]] = new_value;
            }
            k += 1;
        }
    }
    if *eob_run > 0 {
        while k <= scan.se {
            let coef = &mut block[NATURAL[k]];
            if *coef != 0 {
                refine(bits, coef);
            }
            k += 1;
        }
        *eob_run -= 1;
    }
    Some(())
}

/// One component's samples at 1/8 scale, and how many output pixels each
/// covers.
struct Plane {
    samples: Vec<u8>,
    width: usize,
    h_expand: usize,
    v_expand: usize,
}

impl Plane {
    /// The sample column of each of `out_w` output columns, computed once
    /// rather than divided out per pixel.
    fn columns(&self, out_w: usize) -> Vec<usize> {
        (0..out_w).map(|x| x / self.h_expand).collect()
    }
}

impl Component {
    fn plane(&self, h_max: usize, v_max: usize, out_w: usize, out_h: usize) -> Option<Plane> {
        let q = self.quant?;
        let h_expand = h_max / (self.h * self.scaled);
        let v_expand = v_max / (self.v * self.scaled);
        let width = out_w.div_ceil(h_expand);
        let height = out_h.div_ceil(v_expand);
        if width > self.padded_w * self.scaled || height > self.padded_h * self.scaled {
            return None;
        }
        let mut samples = vec![0u8; width * height];
        if self.scaled == 1 {
            let q0 = i32::from(q[0] as i16);
            for (y, row) in samples.chunks_exact_mut(width).enumerate() {
                let dcs = &self.coefs[y * self.padded_w..][..width];
                for (out, &dc) in row.iter_mut().zip(dcs) {
                    // jpeg_idct_1x1: DESCALE(DEQUANTIZE(dc), 3).
                    *out = range_limit((i32::from(dc) * q0 + 4) >> 3);
                }
            }
        } else {
            for by in 0..height.div_ceil(2) {
                for bx in 0..width.div_ceil(2) {
                    let number = by * self.padded_w + bx;
                    let px = match self.reduced.get(number) {
                        Some(&px) => px,
                        None => idct_2x2(&self.coefs[number * 64..][..64], &q)?,
                    };
                    for (dy, row) in px.iter().enumerate() {
                        let y = 2 * by + dy;
                        if y >= height {
                            continue;
                        }
                        for (dx, &value) in row.iter().enumerate() {
                            let x = 2 * bx + dx;
                            if x < width {
                                samples[y * width + x] = value;
                            }
                        }
                    }
                }
            }
        }
        Some(Plane {
            samples,
            width,
            h_expand,
            v_expand,
        })
    }
}

/// libjpeg's post-IDCT range limit: a sample offset by 128, clamped, with
/// the table's wrap-around for values far out of range (`& RANGE_MASK`).
fn range_limit(x: i32) -> u8 {
    match x & 1023 {
        i @ 0..=127 => (i + 128) as u8,
        128..=511 => 255,
        512..=895 => 0,
        i => (i - 896) as u8,
    }
}

fn clamp(x: i32) -> u8 {
    x.clamp(0, 255) as u8
}

/// jidctred.c's jpeg_idct_2x2 (8-bit samples: CONST_BITS 13, PASS1_BITS 2),
/// with its shortcuts for zero AC terms, which round the same way.
///
/// libjpeg-turbo runs its SIMD version of this IDCT where the CPU has one
/// (SSE2 on every x86-64), which works in 16- and 32-bit lanes and
/// saturates where the C code wraps. Both agree while every intermediate
/// value fits those lanes and the result lies within ±512 (where the C
/// range-limit table clamps rather than wraps), which holds for any block
/// an encoder makes from 8-bit samples. Outside that (corrupt data),
/// `None` sends the file to libjpeg-turbo itself.
fn idct_2x2(coef: &[i16], q: &[u16; 64]) -> Option<[[u8; 2]; 2]> {
    const FIX_0_720959822: i64 = 5906;
    const FIX_0_850430095: i64 = 6967;
    const FIX_1_272758580: i64 = 10426;
    const FIX_3_624509785: i64 = 29692;
    const I16: std::ops::RangeInclusive<i64> = i16::MIN as i64..=i16::MAX as i64;
    // Room for the rounding constant added before each descale.
    const I32: std::ops::RangeInclusive<i64> = -(1 << 31) + (1 << 20)..=(1 << 31) - (1 << 20);
    let descale = |x: i64, n: u32| (x + (1 << (n - 1))) >> n;
    // A block whose coefficients read here are all zero but the DC (most
    // chroma blocks of a photo): what the general path below computes
    // for it, with the same checks, in a few steps.
    const AC_READ: [usize; 24] = [
        1, 3, 5, 7, 8, 9, 11, 13, 15, 24, 25, 27, 29, 31, 40, 41, 43, 45, 47, 56, 57, 59, 61, 63,
    ];
    if AC_READ.iter().all(|&i| coef[i] == 0) {
        let dc = i64::from(i32::from(coef[0]) * i32::from(q[0] as i16));
        let v = descale(dc << 2, 5);
        if !I16.contains(&dc) || (dc << 2).abs() >= 1 << 16 || !(-512..512).contains(&v) {
            return None;
        }
        let px = range_limit(v as i32);
        return Some([[px; 2]; 2]);
    }
    // Only rows and columns 0, 1, 3, 5 and 7 take part: dequantised into
    // a 5×5 array (rather than a zeroed 8×8 one per block).
    const READ: [usize; 5] = [0, 1, 3, 5, 7];
    let mut deq = [[0i64; 5]; 5];
    for (r, &row) in READ.iter().enumerate() {
        for (c, &col) in READ.iter().enumerate() {
            let i = row * 8 + col;
            let v = i64::from(i32::from(coef[i]) * i32::from(q[i] as i16));
            if !I16.contains(&v) {
                return None;
            }
            deq[r][c] = v;
        }
    }
    // The column pass, into the two rows of the work array (columns 0, 1,
    // 3, 5 and 7 of jidctred.c's `workspace`). jidctred.c's shortcut for a
    // column without AC terms gives the same value as the full formula
    // (`deq << 2` either way), and the full one's range check cannot fail
    // for it, so every column takes the full one: fewer branches. Range
    // failures are collected in `ok` rather than branched on.
    let mut ok = true;
    let mut ws = [[0i64; 5]; 2];
    for c in 0..5 {
        let tmp10 = deq[0][c] << 15;
        let tmp0 = deq[4][c] * -FIX_0_720959822
            + deq[3][c] * FIX_0_850430095
            + deq[2][c] * -FIX_1_272758580
            + deq[1][c] * FIX_3_624509785;
        ok &= I32.contains(&(tmp10 + tmp0)) && I32.contains(&(tmp10 - tmp0));
        ws[0][c] = descale(tmp10 + tmp0, 13);
        ws[1][c] = descale(tmp10 - tmp0, 13);
    }
    let mut out = [[0u8; 2]; 2];
    for (row, w) in out.iter_mut().zip(&ws) {
        ok &= w[1..].iter().all(|v| I16.contains(v)) && w[0].abs() < 1 << 16;
        let tmp10 = w[0] << 15;
        let tmp0 = w[4] * -FIX_0_720959822
            + w[3] * FIX_0_850430095
            + w[2] * -FIX_1_272758580
            + w[1] * FIX_3_624509785;
        // The row shortcut (no AC terms) computes `descale(w[0], 5)`, which
        // is what the formula gives with `tmp0 == 0`, but it skips the
        // range check, which can fail for it; so only the check differs.
        let shortcut = w[1..].iter().all(|&v| v == 0);
        ok &= shortcut || I32.contains(&(tmp10 + tmp0)) && I32.contains(&(tmp10 - tmp0));
        let (a, b) = (descale(tmp10 + tmp0, 20), descale(tmp10 - tmp0, 20));
        ok &= (-512..512).contains(&a) && (-512..512).contains(&b);
        *row = [range_limit(a as i32), range_limit(b as i32)];
    }
    ok.then_some(out)
}

enum Color {
    Gray,
    YCbCr,
}

/// jdcolor.c's build_ycc_rgb_table (SCALEBITS 16).
struct ColorTables {
    cr_r: [i32; 256],
    cb_b: [i32; 256],
    cr_g: [i64; 256],
    cb_g: [i64; 256],
}

impl ColorTables {
    fn new() -> Self {
        let fix = |x: f64| (x * 65536.0 + 0.5) as i64;
        let half = 1i64 << 15;
        let mut t = ColorTables {
            cr_r: [0; 256],
            cb_b: [0; 256],
            cr_g: [0; 256],
            cb_g: [0; 256],
        };
        for i in 0..256 {
            let x = i as i64 - 128;
            t.cr_r[i] = ((fix(1.40200) * x + half) >> 16) as i32;
            t.cb_b[i] = ((fix(1.77200) * x + half) >> 16) as i32;
            t.cr_g[i] = -fix(0.71414) * x;
            t.cb_g[i] = -fix(0.34414) * x + half;
        }
        t
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::path::{Path, PathBuf};

    use super::*;

    #[test]
    fn unstuffed_intervals_read_as_libjpeg_reads_them() {
        // A stuffed 0xFF, one after fill bytes, then RST0 and what follows.
        let data = [
            0x12, 0xFF, 0x00, 0x34, 0xFF, 0xFF, 0x00, 0x56, 0xFF, 0xFF, 0xD0, 0x78, 0xFF, 0xD9,
        ];
        let mut out = Vec::new();
        assert_eq!(unstuff(&data, 0, &mut out), Some(8));
        assert_eq!(out, [0x12, 0xFF, 0x34, 0xFF, 0x56, 0, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(next_marker(&data, 8), Some((0xD0, 11)));
        assert_eq!(unstuff(&data, 11, &mut out), Some(12));
        assert_eq!(out, [0x78, 0, 0, 0, 0, 0, 0, 0, 0]);
        // No marker: the interval runs to the end of the data.
        assert_eq!(unstuff(&[1, 2, 3], 0, &mut out), Some(3));
        assert_eq!(out.len(), 11);

        // Bits in any grouping, then zeros past the data, which count as
        // overrunning only once one of them is consumed.
        let mut out = Vec::new();
        unstuff(&data, 0, &mut out);
        let mut bits = Bits::new(&out);
        assert_eq!(bits.bits(4), 0x1);
        assert_eq!(bits.bits(12), 0x2FF);
        assert_eq!(bits.bits(16), 0x34FF);
        assert!(!bits.overran());
        bits.fill();
        assert_eq!(bits.bits(8), 0x56);
        assert!(!bits.overran());
        assert_eq!(bits.bits(16), 0);
        assert!(bits.overran());
        for _ in 0..10 {
            bits.fill();
            assert_eq!(bits.bits(16), 0);
        }
        assert!(bits.overran());
    }

    /// libjpeg-turbo's 1/8-scale decode of the same file.
    fn reference(data: &[u8]) -> RgbaImage {
        let h = crate::jpeg::read_header(data).unwrap();
        crate::decode::decode_turbo(data, 8, (h.width, h.height)).unwrap()
    }

    /// Decodes `data` both ways and requires the same pixels; panics when
    /// this decoder steps aside, so no test passes by comparing nothing.
    fn assert_same(data: &[u8], what: &str) {
        let h = crate::jpeg::read_header(data).unwrap();
        let ours = decode(data, (h.width, h.height))
            .unwrap_or_else(|| panic!("{what}: the 1/8 decoder stepped aside"));
        let theirs = reference(data);
        assert_eq!(ours.dimensions(), theirs.dimensions(), "{what}");
        let differing = ours
            .pixels()
            .zip(theirs.pixels())
            .filter(|(a, b)| a != b)
            .count();
        assert_eq!(differing, 0, "{what}: {differing} pixels differ");
    }

    fn compare_if_both_decode(data: &[u8], what: &str) {
        let Some(ours) = decode(data, (40, 40)) else {
            return;
        };
        if let Ok(theirs) = crate::decode::decode_turbo(data, 8, (40, 40)) {
            assert!(ours == theirs, "{what}");
        }
    }

    fn corpus() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus")
    }

    /// Detailed test pixels: gradients, a checkerboard and noise, so every
    /// AC band carries data.
    fn pattern(w: usize, h: usize, seed: u32) -> Vec<u8> {
        let mut state = seed.wrapping_mul(2_654_435_761).wrapping_add(1);
        let mut px = Vec::with_capacity(w * h * 3);
        for y in 0..h {
            for x in 0..w {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                let noise = (state & 63) as usize;
                let check = if (x / 3 + y / 5) % 2 == 0 { 90 } else { 0 };
                px.push(((x * 255 / w.max(1)) / 2 + check + noise / 2) as u8);
                px.push(((y * 255 / h.max(1)) / 2 + noise) as u8);
                px.push((((x + y) * 7) % 256) as u8 / 2 + check as u8 / 3);
            }
        }
        px
    }

    fn progressive(w: usize, h: usize, subsamp: turbojpeg::Subsamp, quality: i32) -> Vec<u8> {
        generated(w, h, subsamp, quality, true)
    }

    fn generated(
        w: usize,
        h: usize,
        subsamp: turbojpeg::Subsamp,
        quality: i32,
        progressive: bool,
    ) -> Vec<u8> {
        let mut c = turbojpeg::Compressor::new().unwrap();
        c.set_progressive(progressive).unwrap();
        c.set_subsamp(subsamp).unwrap();
        c.set_quality(quality).unwrap();
        let px = pattern(w, h, (w * 31 + h) as u32);
        let img = turbojpeg::Image {
            pixels: px.as_slice(),
            width: w,
            pitch: w * 3,
            height: h,
            format: turbojpeg::PixelFormat::RGB,
        };
        c.compress_to_vec(img).unwrap()
    }

    #[test]
    fn corpus_photos_match_libjpeg_turbo() {
        let (mut progressive, mut baseline) = (0, 0);
        for sub in ["jpeg", "orient"] {
            for entry in std::fs::read_dir(corpus().join(sub)).unwrap() {
                let path = entry.unwrap().path();
                let data = std::fs::read(&path).unwrap();
                match crate::jpeg::read_header(&data).unwrap().sof {
                    0xC2 => progressive += 1,
                    0xC0 => baseline += 1,
                    _ => continue,
                }
                assert_same(&data, &path.display().to_string());
            }
        }
        assert!(
            progressive >= 5 && baseline >= 4,
            "only {progressive} progressive and {baseline} baseline photos in the corpus"
        );
    }

    #[test]
    fn generated_files_match_libjpeg_turbo() {
        use turbojpeg::Subsamp::*;
        for progressive in [true, false] {
            for subsamp in [None, Sub2x1, Sub2x2, Sub1x2, Sub4x1, Gray] {
                for (w, h) in [(1, 1), (7, 5), (17, 9), (67, 45), (203, 131), (256, 16)] {
                    for q in [50, 95, 100] {
                        let data = generated(w, h, subsamp, q, progressive);
                        let what = format!("{subsamp:?} {w}x{h} q{q} progressive {progressive}");
                        assert_same(&data, &what);
                    }
                }
            }
        }
    }

    /// Files with restart intervals, from corpus crops. Progressive ones
    /// made by libvips (`bench-venv`, jpegsave interlace=True): restart
    /// intervals of 1, 2, 3 and 5 MCUs, 4:2:0, 4:4:4, grey, and a scan
    /// script split per component (optimize_scans). Baseline ones made by
    /// libjpeg-turbo's `jpegtran -crop -restart` and `cjpeg`: intervals of
    /// 1, 2, 3 and 5 MCUs, 4:2:0, 4:4:4, grey, and 4:2:2 with each
    /// component in a scan of its own (`jpegtran -scans`), whose restart
    /// interval counts that component's blocks.
    #[test]
    fn restart_interval_fixtures_match_libjpeg_turbo() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/jpeg");
        let mut checked = 0;
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let data = std::fs::read(&path).unwrap();
            let restarts = data
                .windows(2)
                .filter(|w| w[0] == 0xFF && (0xD0..=0xD7).contains(&w[1]))
                .count();
            assert!(restarts > 0, "{path:?} has no restart marker");
            assert_same(&data, &path.display().to_string());
            checked += 1;
        }
        assert_eq!(checked, 8);
    }

    #[test]
    fn steps_aside_for_what_it_does_not_reproduce() {
        // Arithmetic coding (the same file with its SOF0 marked SOF9).
        let baseline = generated(40, 40, turbojpeg::Subsamp::Sub2x2, 80, false);
        let sof = baseline.windows(2).position(|w| w == [0xFF, 0xC0]).unwrap();
        let mut arithmetic = baseline.clone();
        arithmetic[sof + 1] = 0xC9;
        assert!(decode(&baseline, (40, 40)).is_some());
        assert!(decode(&arithmetic, (40, 40)).is_none());
        // Extended sequential (SOF1) is decoded as baseline is.
        let mut extended = baseline.clone();
        extended[sof + 1] = 0xC1;
        assert_same(&extended, "SOF1");
        // A size other than the one the limits were checked on.
        let p = progressive(40, 40, turbojpeg::Subsamp::Sub2x2, 80);
        assert!(decode(&p, (40, 41)).is_none());
        // Segments libjpeg passes over (APP5, COM, DNL) and markers it
        // refuses ("Unsupported marker type": 0x0D, JPG0, DHP) or may
        // refuse (DAC, here "Bogus DAC value"), after SOI and before EOI,
        // in both kinds of file.
        for file in [&baseline, &p] {
            for at in [2, file.len() - 2] {
                for (marker, known) in [
                    (0xE5, true),
                    (0xFE, true),
                    (0xDC, true),
                    (0x0D, false),
                    (0xF0, false),
                    (0xDE, false),
                    (0xCC, false),
                ] {
                    let mut with = file[..at].to_vec();
                    with.extend_from_slice(&[0xFF, marker, 0, 4, 0, 40]);
                    with.extend_from_slice(&file[at..]);
                    let what = format!("marker {marker:#x} at {at}");
                    if known {
                        assert_same(&with, &what);
                    } else {
                        assert!(decode(&with, (40, 40)).is_none(), "{what}");
                        assert!(
                            crate::decode::decode_turbo(&with, 8, (40, 40)).is_err(),
                            "{what}"
                        );
                    }
                }
            }
        }
        // A segment longer than what it holds: libjpeg refuses it ("Bogus
        // marker length"). SOF, DRI (added to the file, interval 0: none)
        // and SOS, one byte more each.
        let mut with_dri = baseline[..sof].to_vec();
        with_dri.extend_from_slice(&[0xFF, 0xDD, 0, 4, 0, 0]);
        with_dri.extend_from_slice(&baseline[sof..]);
        assert_same(&with_dri, "DRI");
        for marker in [0xC0, 0xDD, 0xDA] {
            let at = with_dri
                .windows(2)
                .position(|w| w == [0xFF, marker])
                .unwrap();
            let len = usize::from(with_dri[at + 2]) << 8 | usize::from(with_dri[at + 3]);
            let mut longer = with_dri[..at + 2 + len].to_vec();
            longer.push(0);
            longer.extend_from_slice(&with_dri[at + 2 + len..]);
            longer[at + 3] += 1;
            let what = format!("{marker:#x} one byte longer");
            assert!(decode(&longer, (40, 40)).is_none(), "{what}");
            assert!(
                crate::decode::decode_turbo(&longer, 8, (40, 40)).is_err(),
                "{what}"
            );
        }
        // A scan listing its components out of frame order.
        let sos = baseline.windows(2).position(|w| w == [0xFF, 0xDA]).unwrap();
        let mut reordered = baseline.clone();
        reordered.copy_within(sos + 5..sos + 7, sos + 7);
        reordered[sos + 5..sos + 7].copy_from_slice(&baseline[sos + 7..sos + 9]);
        assert_ne!(reordered, baseline);
        assert!(decode(&reordered, (40, 40)).is_none());
        assert!(crate::decode::decode_turbo(&reordered, 8, (40, 40)).is_err());
        // Truncated in the middle of the scans, and cut before EOI.
        for cut in [p.len() / 3, p.len() / 2, p.len() - 2] {
            assert!(decode(&p[..cut], (40, 40)).is_none(), "cut at {cut}");
        }
        // Corrupt data anywhere (tables, scan headers, entropy-coded
        // bytes): never a panic, and either libjpeg-turbo's pixels or a
        // step aside.
        for progressive in [true, false] {
            for subsamp in [turbojpeg::Subsamp::Sub2x2, turbojpeg::Subsamp::Sub2x1] {
                let p = generated(40, 40, subsamp, 80, progressive);
                for i in 2..p.len() - 2 {
                    for flip in [0x01, 0x5A, 0xFF] {
                        let mut bad = p.clone();
                        bad[i] ^= flip;
                        let what = format!("{subsamp:?} {progressive} byte {i} ^ {flip:#x}");
                        compare_if_both_decode(&bad, &what);
                    }
                }
            }
        }
    }

    /// The colour conversion on every (Cb, Cr) pair: flat 8×8 blocks of a
    /// quality-100 4:4:4 file decode at 1/8 to exactly their samples, so
    /// one 2048×2048 image per luma value holds all 65,536 pairs.
    #[test]
    fn every_chroma_pair_converts_as_libjpeg_turbo() {
        for luma in [0u8, 1, 77, 128, 200, 255] {
            let side = 256 * 8;
            let mut planes = vec![luma; side * side * 3];
            for y in 0..side {
                for x in 0..side {
                    planes[side * side + y * side + x] = (x / 8) as u8;
                    planes[2 * side * side + y * side + x] = (y / 8) as u8;
                }
            }
            let mut c = turbojpeg::Compressor::new().unwrap();
            c.set_progressive(true).unwrap();
            c.set_subsamp(turbojpeg::Subsamp::None).unwrap();
            c.set_quality(100).unwrap();
            let yuv = turbojpeg::YuvImage {
                pixels: planes.as_slice(),
                width: side,
                align: 1,
                height: side,
                subsamp: turbojpeg::Subsamp::None,
            };
            let data = c.compress_yuv_to_vec(yuv).unwrap();
            assert_same(&data, &format!("luma {luma}"));
        }
    }

    /// Decode time against libjpeg-turbo's 1/8 decode, per corpus photo,
    /// or per JPEG of the directory `EIGHTH_DIR` names
    /// (`cargo test --release -p imgbucket-imaging --lib eighth_speed --
    /// --ignored --nocapture`); the figures that count come from the
    /// thumbnail benchmark against libvips (docs/image-benchmark.md).
    #[test]
    #[ignore]
    fn eighth_speed() {
        for entry in std::fs::read_dir(
            std::env::var_os("EIGHTH_DIR").map_or(corpus().join("jpeg"), PathBuf::from),
        )
        .unwrap()
        {
            let path = entry.unwrap().path();
            let data = std::fs::read(&path).unwrap();
            let h = crate::jpeg::read_header(&data).unwrap();
            // The fastest of ten runs: the least disturbed by the machine.
            let time = |f: &dyn Fn()| {
                (0..10)
                    .map(|_| {
                        let start = std::time::Instant::now();
                        f();
                        start.elapsed().as_secs_f64() * 1000.0
                    })
                    .fold(f64::INFINITY, f64::min)
            };
            let ours = time(&|| {
                decode(&data, (h.width, h.height)).unwrap();
            });

            let turbo = time(&|| {
                crate::decode::decode_turbo(&data, 8, (h.width, h.height)).unwrap();
            });
            println!(
                "{}: {ours:.1} ms, libjpeg-turbo {turbo:.1} ms ({:.1}x)",
                path.file_name().unwrap().to_string_lossy(),
                turbo / ours
            );
        }
    }
}
