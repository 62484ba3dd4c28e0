//! Fonts for text watermarks: which installed file stands in for each font
//! a vendor names, loading (TrueType collections included), per-character
//! fallback, and rasterising a text block into a coverage mask.
//!
//! The vendors name proprietary fonts (Founder's FangZheng family, SimSun,
//! Tahoma...). Each [`Font`] maps to an ordered list of free font files;
//! the first one found on disk is the font's primary face, the others and a
//! shared fallback list follow it, so a missing file falls back to the next
//! candidate, and a character missing from one face (Chinese text in
//! "Tahoma") is drawn with the next face that has it. The table is
//! documented, with the Debian packages that provide each file, in
//! `docs/fonts.md`; keep the two in sync.
//!
//! A [`FontBook`] is built once at start-up (it only scans directories);
//! each file is read and parsed the first time a request needs it, then kept
//! for the life of the process. It is `Send + Sync`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use ab_glyph::{Font as _, FontArc, FontVec, GlyphId, PxScale, ScaleFont};

use crate::error::{Error, Result};
use crate::pipeline::Font;

/// Largest text block, in pixels, that a text watermark may rasterise to.
/// 64 characters at Alibaba's largest size (1000 px) would need hundreds of
/// megabytes; this bound (8 Mpx, e.g. 8192 × 1024: 32 MB as RGBA, about
/// twice that once rotated) keeps one request's memory sane.
pub const MAX_TEXT_PIXELS: u64 = 8192 * 1024;

/// A free font file the engine knows how to use.
struct FileSpec {
    /// Short id used in the candidate lists below.
    id: &'static str,
    /// File name looked up (case-insensitively) under the search directories.
    file: &'static str,
    /// Face index inside a collection (`.ttc`); 0 for plain files.
    index: u32,
}

/// Every file the tables below may use. See `docs/fonts.md` for packages.
const FILES: &[FileSpec] = &[
    FileSpec {
        id: "wqy-zenhei",
        file: "wqy-zenhei.ttc",
        index: 0,
    },
    FileSpec {
        id: "wqy-microhei",
        file: "wqy-microhei.ttc",
        index: 0,
    },
    FileSpec {
        id: "droid-fallback-full",
        file: "DroidSansFallbackFull.ttf",
        index: 0,
    },
    FileSpec {
        id: "droid-fallback",
        file: "DroidSansFallback.ttf",
        index: 0,
    },
    FileSpec {
        id: "ar-pl-uming",
        file: "uming.ttc",
        index: 0,
    },
    FileSpec {
        id: "ar-pl-ukai",
        file: "ukai.ttc",
        index: 0,
    },
    // Noto CJK collections order their faces JP, KR, SC, TC, HK: 2 = SC.
    FileSpec {
        id: "noto-sans-cjk",
        file: "NotoSansCJK-Regular.ttc",
        index: 2,
    },
    FileSpec {
        id: "noto-serif-cjk",
        file: "NotoSerifCJK-Regular.ttc",
        index: 2,
    },
    FileSpec {
        id: "dejavu-sans",
        file: "DejaVuSans.ttf",
        index: 0,
    },
    FileSpec {
        id: "dejavu-serif",
        file: "DejaVuSerif.ttf",
        index: 0,
    },
    FileSpec {
        id: "liberation-sans",
        file: "LiberationSans-Regular.ttf",
        index: 0,
    },
    FileSpec {
        id: "liberation-serif",
        file: "LiberationSerif-Regular.ttf",
        index: 0,
    },
];

/// Preferred files for each vendor font, best first.
fn candidates(font: Font) -> &'static [&'static str] {
    match font {
        Font::WqyZenHei => &["wqy-zenhei", "wqy-microhei", "noto-sans-cjk"],
        Font::WqyMicroHei => &["wqy-microhei", "wqy-zenhei", "noto-sans-cjk"],
        Font::DroidSansFallback => &["droid-fallback-full", "droid-fallback", "wqy-microhei"],
        // Song/Ming style (serif): AR PL UMing, then Noto Serif CJK.
        Font::FangZhengShuSong | Font::SimSun => &["ar-pl-uming", "noto-serif-cjk"],
        // FangSong sits between Song and Kai; Ming is the closer free face.
        Font::FangZhengFangSong => &["ar-pl-uming", "ar-pl-ukai", "noto-serif-cjk"],
        // Kai (brush): AR PL UKai.
        Font::FangZhengKaiTi => &["ar-pl-ukai", "ar-pl-uming", "noto-serif-cjk"],
        // No free clerical (LiShu) face is packaged; Kai is the closest brush style.
        Font::LiShu => &["ar-pl-ukai", "ar-pl-uming", "noto-serif-cjk"],
        // Hei (sans): WenQuanYi Zen Hei.
        Font::FangZhengHeiTi => &["wqy-zenhei", "noto-sans-cjk", "wqy-microhei"],
        // Tahoma is a humanist sans like DejaVu Sans; Liberation is Arial-metric.
        Font::Tahoma => &["dejavu-sans", "liberation-sans"],
        Font::Arial => &["liberation-sans", "dejavu-sans"],
        Font::TimesNewRoman => &["liberation-serif", "dejavu-serif"],
    }
}

/// Tried after a font's own candidates, for missing files and for
/// characters the earlier faces lack: CJK faces first (the vendors' default
/// fonts are Chinese), then Latin ones.
const FALLBACK: &[&str] = &[
    "wqy-zenhei",
    "wqy-microhei",
    "noto-sans-cjk",
    "droid-fallback-full",
    "droid-fallback",
    "ar-pl-uming",
    "dejavu-sans",
    "liberation-sans",
    "dejavu-serif",
    "liberation-serif",
];

/// A font file found on disk, parsed on first use.
struct Slot {
    path: PathBuf,
    index: u32,
    /// `None` inside once the file turned out unreadable or not a font.
    font: OnceLock<Option<FontArc>>,
}

impl Slot {
    fn get(&self) -> Option<&FontArc> {
        self.font
            .get_or_init(|| {
                let data = std::fs::read(&self.path).ok()?;
                let face = FontVec::try_from_vec_and_index(data, self.index).ok()?;
                Some(FontArc::new(face))
            })
            .as_ref()
    }
}

/// The fonts available to text watermarks. Build once, share everywhere.
pub struct FontBook {
    /// Files of [`FILES`] found under the search directories, by id.
    slots: HashMap<&'static str, Slot>,
}

impl std::fmt::Debug for FontBook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut found: Vec<_> = self.slots.iter().map(|(id, s)| (*id, &s.path)).collect();
        found.sort();
        f.debug_struct("FontBook").field("found", &found).finish()
    }
}

/// How deep [`FontBook::new`] descends below each search directory
/// (Debian: `/usr/share/fonts/truetype/<package>/<file>` is depth 2).
const MAX_SCAN_DEPTH: usize = 5;

impl FontBook {
    /// Scans `search_dirs` (recursively, earlier directories win) for the
    /// known font files. Nothing is parsed yet; unreadable directories are
    /// skipped.
    pub fn new(search_dirs: &[PathBuf]) -> FontBook {
        let wanted: HashMap<String, &FileSpec> = FILES
            .iter()
            .map(|f| (f.file.to_ascii_lowercase(), f))
            .collect();
        let mut slots = HashMap::new();
        for dir in search_dirs {
            scan(dir, 0, &wanted, &mut slots);
        }
        FontBook { slots }
    }

    /// The usual system font directories of a Linux host.
    pub fn system() -> FontBook {
        FontBook::new(&[
            PathBuf::from("/usr/share/fonts"),
            PathBuf::from("/usr/local/share/fonts"),
        ])
    }

    /// The file `font` would be drawn with (its first candidate, or fallback,
    /// that exists and parses), for start-up logs and diagnostics.
    pub fn path_for(&self, font: Font) -> Option<&Path> {
        self.chain_ids(font).find_map(|id| {
            self.slots
                .get(id)
                .filter(|s| s.get().is_some())
                .map(|s| s.path.as_path())
        })
    }

    /// The ordered faces used to draw text in `font`: its own candidates
    /// that exist, then the shared fallbacks. An error when no font file is
    /// usable at all.
    pub fn resolve(&self, font: Font) -> Result<FontChain> {
        let mut faces: Vec<FontArc> = Vec::new();
        let mut seen: Vec<&str> = Vec::new();
        for id in self.chain_ids(font) {
            if seen.contains(&id) {
                continue;
            }
            seen.push(id);
            if let Some(face) = self.slots.get(id).and_then(Slot::get) {
                faces.push(face.clone());
            }
        }
        if faces.is_empty() {
            return Err(Error::Watermark(format!(
                "no font available for {font:?} (install the packages listed in docs/fonts.md)"
            )));
        }
        Ok(FontChain { faces })
    }

    fn chain_ids(&self, font: Font) -> impl Iterator<Item = &'static str> {
        candidates(font).iter().chain(FALLBACK.iter()).copied()
    }
}

fn scan(
    dir: &Path,
    depth: usize,
    wanted: &HashMap<String, &'static FileSpec>,
    slots: &mut HashMap<&'static str, Slot>,
) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut subdirs = Vec::new();
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            subdirs.push(path);
            continue;
        }
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        if let Some(spec) = wanted.get(&name.to_ascii_lowercase()) {
            slots.entry(spec.id).or_insert_with(|| Slot {
                path: path.clone(),
                index: spec.index,
                font: OnceLock::new(),
            });
        }
    }
    if depth < MAX_SCAN_DEPTH {
        // Sorted so that the result does not depend on directory order.
        subdirs.sort();
        for sub in subdirs {
            scan(&sub, depth + 1, wanted, slots);
        }
    }
}

/// The faces drawing one text, best first.
#[derive(Clone)]
pub struct FontChain {
    faces: Vec<FontArc>,
}

impl std::fmt::Debug for FontChain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FontChain")
            .field("faces", &self.faces.len())
            .finish()
    }
}

/// An 8-bit coverage mask (0 = no ink, 255 = full ink), row-major.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Coverage {
    pub width: u32,
    pub height: u32,
    pub data: Vec<u8>,
}

impl Coverage {
    /// Coverage at (x, y); 0 outside the mask.
    pub fn get(&self, x: u32, y: u32) -> u8 {
        if x < self.width && y < self.height {
            self.data[(y as usize) * (self.width as usize) + x as usize]
        } else {
            0
        }
    }
}

/// One positioned glyph of a laid-out text.
struct Placed {
    face: usize,
    id: GlyphId,
    x: f32,
    baseline: f32,
}

impl FontChain {
    /// Index of the first face that has a glyph for `c` (the primary face,
    /// which draws its "missing glyph" box, when none has).
    pub fn face_for(&self, c: char) -> usize {
        self.faces
            .iter()
            .position(|f| f.glyph_id(c).0 != 0)
            .unwrap_or(0)
    }

    /// Rasterises `text` at `size` pixels per em (the usual "font size")
    /// into a coverage
    /// mask just large enough for its ink and advance box. Lines are split
    /// on `\n` and left-aligned.
    pub fn render(&self, text: &str, size: u32) -> Result<Coverage> {
        // ab_glyph scales by ascent − descent; the vendors' size is the em
        // (as in ImageMagick/FreeType), so convert per face.
        let em = size.max(1) as f32;
        let scales: Vec<PxScale> = self
            .faces
            .iter()
            .map(|f| {
                let upem = f.units_per_em().unwrap_or(1000.0);
                PxScale::from(em * f.height_unscaled() / upem)
            })
            .collect();
        let mut placed = Vec::new();
        let mut width = 0f32;
        let mut top = 0f32;
        for line in text.split('\n') {
            let chars: Vec<(char, usize)> = line
                .chars()
                .filter(|c| !c.is_control())
                .map(|c| (c, self.face_for(c)))
                .collect();
            // Line metrics: the tallest of the faces used (the primary face
            // for an empty line) so that mixed scripts share one baseline.
            let mut used: Vec<usize> = chars.iter().map(|&(_, f)| f).collect();
            if used.is_empty() {
                used.push(0);
            }
            let ascent = used
                .iter()
                .map(|&f| self.faces[f].as_scaled(scales[f]).ascent())
                .fold(0f32, f32::max);
            let descent = used
                .iter()
                .map(|&f| self.faces[f].as_scaled(scales[f]).descent())
                .fold(0f32, f32::min);
            let baseline = top + ascent;
            let mut caret = 0f32;
            let mut prev: Option<(usize, GlyphId)> = None;
            for (c, f) in chars {
                let face = self.faces[f].as_scaled(scales[f]);
                let id = face.glyph_id(c);
                if let Some((pf, pid)) = prev {
                    if pf == f {
                        caret += face.kern(pid, id);
                    }
                }
                placed.push(Placed {
                    face: f,
                    id,
                    x: caret,
                    baseline,
                });
                caret += face.h_advance(id);
                prev = Some((f, id));
            }
            width = width.max(caret);
            top = baseline - descent;
        }
        // The ink may overhang the advance box (italics, wide CJK glyphs):
        // take the union of both.
        let mut outlines = Vec::new();
        let (mut min_x, mut min_y, mut max_x, mut max_y) = (0f32, 0f32, width, top);
        for p in &placed {
            let glyph =
                p.id.with_scale_and_position(scales[p.face], ab_glyph::point(p.x, p.baseline));
            if let Some(outline) = self.faces[p.face].outline_glyph(glyph) {
                let b = outline.px_bounds();
                min_x = min_x.min(b.min.x);
                min_y = min_y.min(b.min.y);
                max_x = max_x.max(b.max.x);
                max_y = max_y.max(b.max.y);
                outlines.push(outline);
            }
        }
        let w = (max_x - min_x).ceil().max(1.0) as u64;
        let h = (max_y - min_y).ceil().max(1.0) as u64;
        if w * h > MAX_TEXT_PIXELS {
            return Err(Error::TooLarge {
                what: "text watermark pixels",
                value: w * h,
                limit: MAX_TEXT_PIXELS,
            });
        }
        let (w, h) = (w as u32, h as u32);
        let mut acc = vec![0f32; (w as usize) * (h as usize)];
        for outline in outlines {
            let b = outline.px_bounds();
            let ox = (b.min.x - min_x).round() as i64;
            let oy = (b.min.y - min_y).round() as i64;
            outline.draw(|gx, gy, cov| {
                let x = ox + i64::from(gx);
                let y = oy + i64::from(gy);
                if x >= 0 && y >= 0 && (x as u32) < w && (y as u32) < h {
                    let i = (y as usize) * (w as usize) + x as usize;
                    // Neighbouring glyphs may share an edge pixel: add.
                    acc[i] = (acc[i] + cov).min(1.0);
                }
            });
        }
        let data = acc.into_iter().map(|c| (c * 255.0).round() as u8).collect();
        Ok(Coverage {
            width: w,
            height: h,
            data,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [Font; 12] = [
        Font::WqyZenHei,
        Font::WqyMicroHei,
        Font::DroidSansFallback,
        Font::FangZhengShuSong,
        Font::FangZhengKaiTi,
        Font::FangZhengHeiTi,
        Font::FangZhengFangSong,
        Font::SimSun,
        Font::LiShu,
        Font::Tahoma,
        Font::Arial,
        Font::TimesNewRoman,
    ];

    fn ink(c: &Coverage) -> u64 {
        c.data.iter().map(|&v| u64::from(v)).sum()
    }

    #[test]
    fn every_font_resolves_on_this_host() {
        let book = FontBook::system();
        for font in ALL {
            assert!(book.resolve(font).is_ok(), "{font:?}");
            assert!(book.path_for(font).is_some(), "{font:?}");
        }
        let zen = book.path_for(Font::WqyZenHei).map(|p| p.to_path_buf());
        assert!(zen.is_some_and(|p| p.ends_with("wqy-zenhei.ttc")));
        let tahoma = book.path_for(Font::Tahoma).map(|p| p.to_path_buf());
        assert!(tahoma.is_some_and(|p| p.ends_with("DejaVuSans.ttf")));
    }

    #[test]
    fn cjk_text_renders_with_zenhei() {
        let book = FontBook::system();
        let chain = book
            .resolve(Font::WqyZenHei)
            .unwrap_or_else(|e| panic!("{e}"));
        let cov = chain
            .render("图片水印", 40)
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(cov.width >= 150 && cov.width <= 170, "width {}", cov.width);
        assert!(
            cov.height >= 38 && cov.height <= 60,
            "height {}",
            cov.height
        );
        assert!(ink(&cov) > 255 * 300, "ink {}", ink(&cov));
    }

    #[test]
    fn missing_glyph_falls_back_to_cjk_face() {
        let book = FontBook::system();
        let chain = book.resolve(Font::Tahoma).unwrap_or_else(|e| panic!("{e}"));
        // DejaVu has Latin but no Han; the chain finds a CJK face for it.
        assert_eq!(chain.face_for('A'), 0);
        assert!(chain.face_for('水') > 0);
        let cov = chain.render("水", 40).unwrap_or_else(|e| panic!("{e}"));
        assert!(ink(&cov) > 255 * 100);
    }

    #[test]
    fn missing_font_falls_back_and_none_is_an_error() {
        // Only DejaVu Sans available: the CJK font resolves to it.
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let sub = dir.path().join("deep").join("er");
        std::fs::create_dir_all(&sub).unwrap_or_else(|e| panic!("{e}"));
        std::fs::copy(
            "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
            sub.join("DejaVuSans.ttf"),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let book = FontBook::new(&[dir.path().to_path_buf()]);
        let path = book.path_for(Font::WqyZenHei).map(|p| p.to_path_buf());
        assert!(path.is_some_and(|p| p.ends_with("DejaVuSans.ttf")));
        let chain = book
            .resolve(Font::WqyZenHei)
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(ink(&chain.render("Hello", 30).unwrap_or_else(|e| panic!("{e}"))) > 0);

        // A file with the right name that is not a font counts as missing.
        let bad = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(bad.path().join("wqy-zenhei.ttc"), b"not a font")
            .unwrap_or_else(|e| panic!("{e}"));
        let book = FontBook::new(&[bad.path().to_path_buf(), PathBuf::from("/nonexistent")]);
        match book.resolve(Font::WqyZenHei) {
            Err(Error::Watermark(msg)) => assert!(msg.contains("no font available"), "{msg}"),
            other => panic!("expected an error, got {other:?}"),
        }
        assert!(book.path_for(Font::Arial).is_none());
    }

    #[test]
    fn huge_text_is_refused() {
        let book = FontBook::system();
        let chain = book.resolve(Font::Arial).unwrap_or_else(|e| panic!("{e}"));
        let text = "W".repeat(64);
        assert!(matches!(
            chain.render(&text, 1000),
            Err(Error::TooLarge { .. })
        ));
        // Multi-line text stacks lines.
        let one = chain.render("Ab", 20).unwrap_or_else(|e| panic!("{e}"));
        let two = chain.render("Ab\nAb", 20).unwrap_or_else(|e| panic!("{e}"));
        assert!(
            two.height >= 2 * one.height - 4,
            "{} vs {}",
            two.height,
            one.height
        );
    }

    #[test]
    fn book_is_shareable_across_threads() {
        fn shareable<T: Send + Sync>() {}
        shareable::<FontBook>();
        shareable::<FontChain>();
        // Concurrent first use parses each file once and agrees.
        let book = std::sync::Arc::new(FontBook::system());
        let handles: Vec<_> = (0..4)
            .map(|_| {
                let book = book.clone();
                std::thread::spawn(move || {
                    let chain = book.resolve(Font::WqyMicroHei).map_err(|e| e.to_string())?;
                    chain
                        .render("并发", 20)
                        .map(|c| c.width)
                        .map_err(|e| e.to_string())
                })
            })
            .collect();
        let widths: Vec<u32> = handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| panic!("thread panicked"))
                    .unwrap_or_else(|e| panic!("{e}"))
            })
            .collect();
        assert!(
            widths.iter().all(|&w| w == widths[0] && w > 30),
            "{widths:?}"
        );
    }
}
