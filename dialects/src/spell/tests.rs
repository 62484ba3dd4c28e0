//! The spellers against the parsers: every pipeline parsed from a
//! realistic request (the strings of the parsers' own tests) is spelled in
//! all three dialects, and every `Ok` must parse back, in that dialect,
//! to a pipeline with the same [`effect`].

use super::{effect, house_rules, spell};
use crate::common::b64url_encode;
use crate::testing::Rng;
use crate::{parse_style, Dialect};
use imaging::{
    Blur, BlurKind, CircleBox, Enlarge, FlipAxis, FrameSelect, Geometry, Op, Pipeline, Resize,
    Rounding,
};

const ALL: [Dialect; 3] = [Dialect::Oss, Dialect::Cos, Dialect::Us3];

/// Style bodies in their dialect, taken from the parsers' tests and the
/// cross-dialect table.
const TABLE: &[(Dialect, &str)] = &[
    // Alibaba OSS.
    (Dialect::Oss, "image/resize,w_300"),
    (Dialect::Oss, "image/resize,w_300,limit_0"),
    (Dialect::Oss, "image/resize,m_lfit,w_300,h_200"),
    (Dialect::Oss, "image/resize,w_300,h_200,limit_0"),
    (Dialect::Oss, "image/resize,m_mfit,w_300,h_200,limit_0"),
    (Dialect::Oss, "image/resize,m_fill,w_300,h_200"),
    (Dialect::Oss, "image/resize,m_fill,w_300,h_200,limit_0"),
    (Dialect::Oss, "image/resize,m_pad,w_300,h_200,color_FF0000"),
    (Dialect::Oss, "image/resize,m_fixed,w_300,h_200,limit_0"),
    (Dialect::Oss, "image/resize,h_100"),
    (Dialect::Oss, "image/resize,p_50"),
    (Dialect::Oss, "image/resize,p_50,limit_0"),
    (Dialect::Oss, "image/resize,l_100"),
    (Dialect::Oss, "image/crop,x_10,y_20,w_100,h_50"),
    (Dialect::Oss, "image/crop,w_100,h_50,g_se,x_5,y_6"),
    (Dialect::Oss, "image/crop,w_100,h_50,g_center"),
    (Dialect::Oss, "image/indexcrop,y_50,i_2"),
    (Dialect::Oss, "image/circle,r_100"),
    (Dialect::Oss, "image/rounded-corners,r_30"),
    (Dialect::Oss, "image/rotate,90"),
    (Dialect::Oss, "image/rotate,90/format,png"),
    (Dialect::Oss, "image/resize,w_200,limit_0/auto-orient,1"),
    (Dialect::Oss, "image/bright,50"),
    (Dialect::Oss, "image/bright,100"),
    (Dialect::Oss, "image/contrast,-30"),
    (Dialect::Oss, "image/sharpen,100"),
    (Dialect::Oss, "image/blur,r_3,s_2"),
    (Dialect::Oss, "image/format,png"),
    (Dialect::Oss, "image/format,gif"),
    (Dialect::Oss, "image/quality,Q_80"),
    (Dialect::Oss, "image/quality,q_80/format,webp"),
    (Dialect::Oss, "image/interlace,1/format,jpg"),
    (Dialect::Oss, "image/interlace,1"),
    (Dialect::Oss, "image/interlace,0/format,png"),
    (Dialect::Oss, "image/info"),
    (Dialect::Oss, "image/resize,w_200,limit_0/average-hue"),
    (Dialect::Oss, "image/resize,w_200/rotate,90"),
    (Dialect::Oss, "image/auto-orient,0"),
    (
        Dialect::Oss,
        "image/watermark,text_SGVsbG8,color_FF0000,size_30,g_se,x_10,y_10",
    ),
    (
        Dialect::Oss,
        "image/watermark,text_SGVsbG8,type_ZmFuZ3poZW5naGVpdGk,size_40,t_90,g_se,x_10,y_10",
    ),
    (Dialect::Oss, "image/watermark,image_bG9nby5wbmc,t_50,g_nw,x_10,y_10"),
    (
        Dialect::Oss,
        // logo.png?x-oss-process=image/resize,P_30
        "image/watermark,image_bG9nby5wbmc_eC1vc3MtcHJvY2Vzcz1pbWFnZS9yZXNpemUsUF8zMA,g_center",
    ),
    (
        Dialect::Oss,
        // wm/logo.png?x-oss-process=image/resize,w_100/rotate,90
        "image/watermark,image_d20vbG9nby5wbmc_eC1vc3MtcHJvY2Vzcz1pbWFnZS9yZXNpemUsd18xMDAvcm90YXRlLDkw,g_nw,x_10,y_10,t_80",
    ),
    (
        Dialect::Oss,
        // wm/logo.png?x-oss-process=image/crop,w_100,h_100/resize,P_20
        "image/watermark,image_d20vbG9nby5wbmc_eC1vc3MtcHJvY2Vzcz1pbWFnZS9jcm9wLHdfMTAwLGhfMTAwL3Jlc2l6ZSxQXzIw,text_SGVsbG8,order_1,align_1,interval_5",
    ),
    (Dialect::Oss, "video/snapshot,t_1000,w_300,f_png"),
    (Dialect::Oss, "video/snapshot,t_2500,m_fast,ar_auto"),
    // Tencent COS.
    (Dialect::Cos, "imageMogr2/thumbnail/300x"),
    (Dialect::Cos, "imageMogr2/thumbnail/300x200>"),
    (Dialect::Cos, "imageMogr2/thumbnail/300x200"),
    (Dialect::Cos, "imageMogr2/thumbnail/300x200<"),
    (Dialect::Cos, "imageMogr2/thumbnail/!50p"),
    (Dialect::Cos, "imageMogr2/thumbnail/!33.3p"),
    (Dialect::Cos, "imageMogr2/thumbnail/!50px"),
    (Dialect::Cos, "imageMogr2/thumbnail/!300x200r"),
    (Dialect::Cos, "imageMogr2/thumbnail/300x200!"),
    (Dialect::Cos, "imageMogr2/thumbnail/90000@"),
    (
        Dialect::Cos,
        "imageMogr2/thumbnail/300x200>/pad/1/color/I0ZGMDAwMA",
    ),
    (Dialect::Cos, "imageMogr2/cut/100x50x10x20"),
    (
        Dialect::Cos,
        "imageMogr2/crop/100x50/gravity/southeast/dx/10/dy/5",
    ),
    (Dialect::Cos, "imageMogr2/crop/300x/gravity/center"),
    (Dialect::Cos, "imageMogr2/iradius/100"),
    (Dialect::Cos, "imageMogr2/rradius/30"),
    (Dialect::Cos, "imageMogr2/rotate/90"),
    (Dialect::Cos, "imageMogr2/rotate/90/format/png"),
    (Dialect::Cos, "imageMogr2/flip/horizontal"),
    (Dialect::Cos, "imageMogr2/auto-orient"),
    (Dialect::Cos, "imageMogr2/bright/50/contrast/-30"),
    (Dialect::Cos, "imageMogr2/sharpen/70"),
    (Dialect::Cos, "imageMogr2/blur/3x2"),
    (Dialect::Cos, "imageMogr2/blur/8x1.5"),
    (Dialect::Cos, "imageMogr2/grayscale/1"),
    (Dialect::Cos, "imageMogr2/cgif/10"),
    (Dialect::Cos, "imageMogr2/format/webp/quality/80"),
    (Dialect::Cos, "imageMogr2/quality/80!"),
    (Dialect::Cos, "imageMogr2/rquality/60"),
    (Dialect::Cos, "imageMogr2/lquality/60"),
    (Dialect::Cos, "imageMogr2/format/jpg/interlace/1"),
    (Dialect::Cos, "imageMogr2/format/avif"),
    (Dialect::Cos, "imageMogr2/interlace/0"),
    (Dialect::Cos, "imageMogr2/strip"),
    (Dialect::Cos, "imageMogr2/size-limit/15k!"),
    (Dialect::Cos, "imageMogr2/ignore-error/1/thumbnail/300x"),
    (Dialect::Cos, "imageView2/1/w/300/h/200"),
    (Dialect::Cos, "imageView2/2/w/300/h/200/format/png/q/75"),
    (Dialect::Cos, "imageView2/4/w/500/h/400"),
    (
        Dialect::Cos,
        "imageMogr2/thumbnail/200x>/rotate/90|imageInfo",
    ),
    (Dialect::Cos, "imageAve"),
    (Dialect::Cos, "exif"),
    (
        Dialect::Cos,
        "watermark/2/text/SGVsbG8/fill/I0ZGMDAwMA/fontsize/30/gravity/southeast/dx/10/dy/10",
    ),
    (
        Dialect::Cos,
        "watermark/2/text/SGVsbG8/fontsize/12/batch/1/degree/45/dissolve/50",
    ),
    (
        Dialect::Cos,
        // http://examplebucket-1250000000.cos.ap-beijing.myqcloud.com/logo.png
        "watermark/1/image/aHR0cDovL2V4YW1wbGVidWNrZXQtMTI1MDAwMDAwMC5jb3MuYXAtYmVpamluZy5teXFjbG91ZC5jb20vbG9nby5wbmc/gravity/center",
    ),
    (
        Dialect::Cos,
        // http://examplebucket-1250000000.cos.ap-beijing.myqcloud.com/wm/logo.png
        "watermark/1/image/aHR0cDovL2V4YW1wbGVidWNrZXQtMTI1MDAwMDAwMC5jb3MuYXAtYmVpamluZy5teXFjbG91ZC5jb20vd20vbG9nby5wbmc/scatype/1/spcent/300/blogo/2/dissolve/80/gravity/northwest/dx/10/dy/10",
    ),
    (
        Dialect::Cos,
        "imageMogr2/auto-orient/thumbnail/300x|imageMogr2/crop/100x100/gravity/center",
    ),
    (
        Dialect::Cos,
        "imageMogr2/crop/200x200/gravity/northwest/dx/10/dy/20/thumbnail/100x100",
    ),
    // UCloud US3.
    (Dialect::Us3, "iopcmd=thumbnail&type=4&width=300"),
    (Dialect::Us3, "iopcmd=thumbnail&type=5&height=300"),
    (Dialect::Us3, "iopcmd=thumbnail&type=1&scale=50"),
    (Dialect::Us3, "iopcmd=thumbnail&type=2&scale=40"),
    (Dialect::Us3, "iopcmd=thumbnail&type=6&width=300&height=200"),
    (Dialect::Us3, "iopcmd=thumbnail&type=8&width=300&height=200"),
    (Dialect::Us3, "iopcmd=thumbnail&type=9&width=300&height=200"),
    (
        Dialect::Us3,
        "iopcmd=thumbnail&type=10&width=300&height=200",
    ),
    (
        Dialect::Us3,
        "iopcmd=thumbnail&type=11&width=300&height=200",
    ),
    (
        Dialect::Us3,
        "iopcmd=thumbnail&type=12&width=800&height=800&color=red",
    ),
    (
        Dialect::Us3,
        "iopcmd=thumbnail&type=15&width=300&height=200&color=%23FF000080",
    ),
    (
        Dialect::Us3,
        "iopcmd=thumbnail&type=15&width=300&height=200&color=blue",
    ),
    (Dialect::Us3, "iopcmd=thumbnail&type=4&width=300&gifmode=2"),
    (
        Dialect::Us3,
        "iopcmd=convert&dst=png&fr=0.5|iopcmd=thumbnail&type=4&width=300&gifmode=2",
    ),
    (Dialect::Us3, "iopcmd=crop&width=100&height=50&ax=10&ay=20"),
    (
        Dialect::Us3,
        "iopcmd=crop&width=100&height=50&gravity=Center",
    ),
    (Dialect::Us3, "iopcmd=indexcrop&x=50&i=1"),
    (Dialect::Us3, "iopcmd=circle&r=100"),
    (Dialect::Us3, "iopcmd=rounded-corners&r=30"),
    (Dialect::Us3, "iopcmd=rotate&degree=90"),
    (Dialect::Us3, "iopcmd=auto-orient"),
    (Dialect::Us3, "iopcmd=bright&value=50"),
    (Dialect::Us3, "iopcmd=bright&value=100"),
    (Dialect::Us3, "iopcmd=contrast&value=-30"),
    (Dialect::Us3, "iopcmd=sharpen&radius=2&sigma=1"),
    (Dialect::Us3, "iopcmd=sharpen&radius=3"),
    (Dialect::Us3, "iopcmd=blur&type=2&radius=3&sigma=2"),
    (
        Dialect::Us3,
        "iopcmd=blur&type=1&radius=5&sigma=2&width=100&height=100&ax=10&ay=10",
    ),
    (Dialect::Us3, "iopcmd=convert&dst=webp&Q=80"),
    (Dialect::Us3, "iopcmd=convert&dst=jpg&q=70"),
    (Dialect::Us3, "iopcmd=convert&dst=png&fr=0.5"),
    (Dialect::Us3, "iopcmd=interlace"),
    (Dialect::Us3, "iopcmd=interlace&value=0|iopcmd=convert&dst=png"),
    (Dialect::Us3, "iopcmd=imageinfo"),
    (
        Dialect::Us3,
        "iopcmd=thumbnail&type=4&width=300|iopcmd=averagehue",
    ),
    (Dialect::Us3, "iopcmd=exif"),
    (
        Dialect::Us3,
        "iopcmd=watermark&type=1&text=SGVsbG8&fontsize=30&fill=I0ZGMDAwMA&gravity=SouthEast",
    ),
    (
        Dialect::Us3,
        "iopcmd=rotate&degree=90|iopcmd=thumbnail&type=1&scale=40",
    ),
    (
        Dialect::Us3,
        // https://cdn.example.com/wm/my%20logo.png?iopcmd=thumbnail&type=1&scale=50|iopcmd=rotate&degree=90
        "iopcmd=watermark&type=2&imageurl=aHR0cHM6Ly9jZG4uZXhhbXBsZS5jb20vd20vbXklMjBsb2dvLnBuZz9pb3BjbWQ9dGh1bWJuYWlsJnR5cGU9MSZzY2FsZT01MHxpb3BjbWQ9cm90YXRlJmRlZ3JlZT05MA&ax=20&ay=30&opacity=80",
    ),
];

/// Checks the criterion for `p` (parsed from `source`) in `target`; the
/// spelling's outcome.
fn check(source: &str, p: &Pipeline, target: Dialect) -> Result<String, Vec<String>> {
    let out = spell(p, target);
    match &out {
        Ok(text) => {
            let back = parse_style(target, text)
                .unwrap_or_else(|e| panic!("{source} → {target:?} `{text}` does not parse: {e:?}"));
            assert_eq!(
                effect(&back),
                effect(p),
                "{source} → {target:?} `{text}` parses to another effect"
            );
        }
        Err(reasons) => {
            assert!(
                !reasons.is_empty(),
                "{source} → {target:?}: Err without reason"
            );
            for r in reasons {
                let (part, why) = r
                    .split_once(": ")
                    .unwrap_or_else(|| panic!("{source} → {target:?}: `{r}` names no part"));
                assert!(!part.is_empty() && !why.is_empty(), "{r}");
            }
        }
    }
    out
}

fn parsed(dialect: Dialect, source: &str) -> Pipeline {
    parse_style(dialect, source).unwrap_or_else(|e| panic!("{source}: {e:?}"))
}

#[test]
fn table_round_trips_into_every_dialect() {
    assert!(TABLE.len() >= 40);
    let mut oks = [0usize; 3];
    let mut errs = [0usize; 3];
    for &(from, source) in TABLE {
        let p = parsed(from, source);
        for (i, to) in ALL.into_iter().enumerate() {
            match check(source, &p, to) {
                Ok(_) => oks[i] += 1,
                Err(_) => errs[i] += 1,
            }
        }
    }
    // Every dialect writes a good part of the others' requests, and
    // refuses some: neither side of the criterion is vacuous.
    for i in 0..3 {
        assert!(oks[i] >= TABLE.len() / 3, "{:?}: {oks:?}", ALL[i]);
        assert!(errs[i] > 0, "{:?}: {errs:?}", ALL[i]);
    }
}

#[test]
fn table_round_trips_into_its_own_dialect() {
    for &(from, source) in TABLE {
        let p = parsed(from, source);
        if let Err(reasons) = check(source, &p, from) {
            panic!("{source} cannot be written in its own dialect: {reasons:?}");
        }
    }
}

/// Joins process strings of one dialect into one request.
fn join(dialect: Dialect, parts: &[&str]) -> String {
    match dialect {
        Dialect::Oss => {
            let bodies: Vec<&str> = parts
                .iter()
                .map(|s| s.strip_prefix("image/").unwrap_or(s))
                .collect();
            format!("image/{}", bodies.join("/"))
        }
        Dialect::Cos | Dialect::Us3 => parts.join("|"),
    }
}

/// Random chains of table entries of one dialect (those its parser
/// accepts together): the criterion must hold for every spelling.
#[test]
fn random_chains_keep_the_criterion() {
    let mut rng = Rng::new(0x5EED_5BE1);
    let mut checked = 0;
    let mut own_errs = Vec::new();
    for _ in 0..3000 {
        let from = ALL[rng.below(3)];
        let pool: Vec<&str> = TABLE
            .iter()
            .filter(|(d, s)| *d == from && !s.starts_with("video/"))
            .map(|(_, s)| *s)
            .collect();
        let n = 2 + rng.below(3);
        let parts: Vec<&str> = (0..n).map(|_| rng.pick(&pool)).collect();
        let source = join(from, &parts);
        let Ok(p) = parse_style(from, &source) else {
            continue;
        };
        checked += 1;
        for to in ALL {
            let out = check(&source, &p, to);
            if to == from {
                if let Err(reasons) = out {
                    own_errs.push(format!("{source}: {reasons:?}"));
                }
            }
        }
    }
    assert!(checked > 1000, "only {checked} chains parsed");
    // Chains of parts each dialect writes are written too, except where
    // the dialect's own limits forbid it.
    assert!(own_errs.is_empty(), "{own_errs:#?}");
}

fn spelled(from: Dialect, source: &str, to: Dialect) -> Result<String, Vec<String>> {
    check(source, &parsed(from, source), to)
}

fn assert_err(out: Result<String, Vec<String>>, needles: &[&str]) -> Vec<String> {
    let reasons = out.expect_err("expected reasons");
    for needle in needles {
        assert!(
            reasons.iter().any(|r| r.contains(needle)),
            "no reason mentions `{needle}`: {reasons:?}"
        );
    }
    reasons
}

#[test]
fn named_cases() {
    use Dialect::*;
    // OSS never enlarges by default (`limit_1`): COS writes `>`, US3
    // thumbnails always may enlarge.
    assert_eq!(
        spelled(Oss, "image/resize,w_300", Cos).as_deref(),
        Ok("imageMogr2/thumbnail/300x>")
    );
    assert_err(
        spelled(Oss, "image/resize,w_300", Us3),
        &["resize", "enlarge"],
    );
    assert_eq!(
        spelled(Oss, "image/resize,w_300,limit_0", Cos).as_deref(),
        Ok("imageMogr2/thumbnail/300x")
    );
    assert_eq!(
        spelled(Oss, "image/resize,w_300,limit_0", Us3).as_deref(),
        Ok("iopcmd=thumbnail&type=4&width=300")
    );
    assert_eq!(
        spelled(Us3, "iopcmd=thumbnail&type=4&width=300", Oss).as_deref(),
        Ok("image/resize,w_300,limit_0")
    );
    // Blur: every dialect has a Gaussian one.
    assert_eq!(
        spelled(Oss, "image/blur,r_3,s_2", Us3).as_deref(),
        Ok("iopcmd=blur&type=2&radius=3&sigma=2")
    );
    assert_eq!(
        spelled(Oss, "image/blur,r_3,s_2", Cos).as_deref(),
        Ok("imageMogr2/blur/3x2")
    );
    // A fractional sigma or a box blur is Tencent's or UCloud's only.
    assert_err(spelled(Cos, "imageMogr2/blur/8x1.5", Oss), &["blur"]);
    assert_err(spelled(Cos, "imageMogr2/blur/8x1.5", Us3), &["blur"]);
    assert_err(
        spelled(Us3, "iopcmd=blur&type=1&radius=3&sigma=2", Cos),
        &["blur: Tencent COS has a Gaussian blur only"],
    );
    // Flip is Tencent's only.
    assert_err(
        spelled(Cos, "imageMogr2/flip/horizontal", Oss),
        &["flip: Alibaba OSS has no flip"],
    );
    assert_err(
        spelled(Cos, "imageMogr2/flip/horizontal", Us3),
        &["flip: UCloud US3 has no flip"],
    );
    // A percentage that the other dialect would have to round.
    assert_err(
        spelled(Cos, "imageMogr2/thumbnail/!33.3p", Us3),
        &["33.3 %"],
    );
    assert_err(
        spelled(Cos, "imageMogr2/thumbnail/!33.3p", Oss),
        &["resize"],
    );
    assert_eq!(
        spelled(Cos, "imageMogr2/thumbnail/!50p", Us3).as_deref(),
        Ok("iopcmd=thumbnail&type=1&scale=50")
    );
    // OSS freezes animations on rotate: only when the output is still
    // anyway can a COS rotation be written there.
    assert_err(
        spelled(Cos, "imageMogr2/rotate/90", Oss),
        &["rotate", "animat"],
    );
    assert_eq!(
        spelled(Cos, "imageMogr2/rotate/90/format/png", Oss).as_deref(),
        Ok("image/rotate,90/format,png")
    );
    // ... and an OSS rotation keeps the first frame, which COS cannot.
    assert_err(spelled(Oss, "image/rotate,90", Cos), &["frames"]);
    assert_eq!(
        spelled(Oss, "image/rotate,90/format,png", Cos).as_deref(),
        Ok("imageMogr2/rotate/90/format/png")
    );
    // UCloud's bright 100 is a white flood; Alibaba's is a brightness.
    assert_err(spelled(Oss, "image/bright,100", Us3), &["bright 100"]);
    assert_err(spelled(Us3, "iopcmd=bright&value=100", Oss), &["flood"]);
    // OSS `info` describes the source only; COS and US3 after processing.
    assert_eq!(spelled(Oss, "image/info", Cos).as_deref(), Ok("imageInfo"));
    assert_eq!(
        spelled(Oss, "image/info", Us3).as_deref(),
        Ok("iopcmd=imageinfo")
    );
    assert_err(
        spelled(Cos, "imageMogr2/thumbnail/200x>/rotate/90|imageInfo", Oss),
        &["info"],
    );
    // A pipeline that does nothing is written as "auto-orient off".
    assert_eq!(
        spelled(Oss, "image/auto-orient,0", Cos).as_deref(),
        Ok("imageMogr2/auto-orient/0")
    );
    // Text watermarks in base64 in every dialect that has their font.
    assert!(spelled(Cos, "watermark/2/text/SGVsbG8/fontsize/12/dissolve/50", Oss).is_err());
    assert!(spelled(
        Us3,
        "iopcmd=watermark&type=1&text=SGVsbG8&fontsize=30&fill=I0ZGMDAwMA&gravity=SouthEast",
        Cos
    )
    .is_err());
    let oss = "image/watermark,text_SGVsbG8,type_ZmFuZ3poZW5naGVpdGk,size_40,t_90,g_se,x_10,y_10";
    assert!(spelled(Oss, oss, Cos).is_ok());
    // US3 places a mark in a gravity cell without margin, or by its corner.
    assert_err(spelled(Oss, oss, Us3), &["watermark", "margin"]);
    let nw = "image/watermark,text_SGVsbG8,type_ZmFuZ3poZW5naGVpdGk,size_40,t_90,g_nw,x_10,y_10";
    assert!(spelled(Oss, nw, Us3).is_ok());
}

#[test]
fn every_part_that_cannot_be_written_is_listed() {
    let p = parsed(
        Dialect::Cos,
        "imageMogr2/flip/horizontal/grayscale/1/rotate/90/strip|imageMogr2/cgif/5",
    );
    let reasons = spell(&p, Dialect::Oss).unwrap_err();
    for part in ["flip", "grayscale", "rotate", "strip metadata", "frames"] {
        assert!(
            reasons.iter().any(|r| r.starts_with(&format!("{part}: "))),
            "{part}: {reasons:?}"
        );
    }
    assert_eq!(reasons.len(), 5, "{reasons:?}");
}

#[test]
fn hand_built_pipelines() {
    // Geometries no parser of a dialect yields name the missing geometry.
    let p = Pipeline {
        ops: vec![Op::Resize(Resize {
            geometry: Geometry::Scale {
                x_permille: Some(500),
                y_permille: Some(250),
            },
            enlarge: Enlarge::Allow,
        })],
        ..Pipeline::default()
    };
    for d in ALL {
        let reasons = spell(&p, d).unwrap_err();
        assert!(reasons[0].starts_with("resize: "), "{reasons:?}");
    }
    // A box blur over a region: UCloud's alone.
    let p = parsed(
        Dialect::Us3,
        "iopcmd=blur&type=1&radius=5&sigma=2&width=100&height=100&gravity=Center",
    );
    assert_eq!(
        spell(&p, Dialect::Us3).as_deref(),
        Ok("iopcmd=blur&type=1&radius=5&sigma=2&width=100&height=100&gravity=Center")
    );
    let gaussian = Pipeline {
        ops: vec![Op::Blur(Blur {
            radius: 5,
            sigma_milli: 2000,
            kind: BlurKind::Gaussian,
            region: None,
        })],
        ..Pipeline::default()
    };
    assert!(spell(&gaussian, Dialect::Oss).is_ok());
    assert!(spell(
        &Pipeline {
            ops: vec![Op::Flip(FlipAxis::Vertical)],
            ..Pipeline::default()
        },
        Dialect::Cos
    )
    .is_ok());
}

#[test]
fn bucket_encoding_settings_are_no_processing_string() {
    // `jpeg_progressive: auto` and `jpeg_trellis` reach a pipeline from
    // the bucket; a style written from it would lose them silently.
    let mut p = parsed(Dialect::Us3, "iopcmd=thumbnail&type=4&width=100");
    p.output.trellis = true;
    p.output.progressive_auto = true;
    for d in ALL {
        assert_err(spell(&p, d), &["trellis", "progressive"]);
    }
    p.output.trellis = false;
    p.output.progressive_auto = false;
    for d in ALL {
        assert!(spell(&p, d).is_ok(), "{d:?}: {:?}", spell(&p, d));
    }
}

#[test]
fn effect_sets_aside_dialect_rules_only() {
    let oss = parsed(Dialect::Oss, "image/circle,r_50/rotate,90/auto-orient,1");
    let e = effect(&oss);
    assert_eq!(e.rounding, Rounding::Nearest);
    assert_eq!(
        e.ops,
        vec![
            Op::Frames(FrameSelect::First),
            Op::AutoOrient,
            Op::Circle {
                radius: 50,
                bbox: CircleBox::TwoR
            },
            Op::Rotate { degrees: 90 },
        ]
    );
    // A still output format makes the first-frame step irrelevant.
    let still = parsed(Dialect::Oss, "image/rotate,90/format,png");
    assert_eq!(effect(&still).ops, vec![Op::Rotate { degrees: 90 }]);
    // ... unless another frame selection would pick a later frame.
    let picked = parsed(
        Dialect::Us3,
        "iopcmd=convert&dst=png&fr=0.5|iopcmd=thumbnail&type=4&width=300&gifmode=2",
    );
    assert_eq!(effect(&picked).ops[0], Op::Frames(FrameSelect::First));
    // What the request asks is kept: the enlargement rule, the format.
    let a = effect(&parsed(Dialect::Oss, "image/resize,w_300"));
    let b = effect(&parsed(Dialect::Oss, "image/resize,w_300,limit_0"));
    assert_ne!(a, b);
    // US3 and OSS agree once the rounding rule is set aside.
    assert_eq!(
        effect(&parsed(
            Dialect::Us3,
            "iopcmd=thumbnail&type=9&width=300&height=200"
        )),
        effect(&parsed(Dialect::Oss, "image/resize,w_300,h_200,limit_0"))
    );
}

#[test]
fn house_rules_name_what_the_spelling_inherits() {
    let oss = parsed(Dialect::Oss, "image/resize,w_300,limit_0/circle,r_50");
    let us3 = house_rules(&oss, Dialect::Us3);
    assert!(
        us3.iter().any(|n| n.contains("rounds computed sizes down")),
        "{us3:?}"
    );
    assert!(us3.iter().any(|n| n.starts_with("circle: ")), "{us3:?}");
    let cos = house_rules(&oss, Dialect::Cos);
    assert!(cos.iter().any(|n| n.contains("refuses a crop")), "{cos:?}");
    assert!(house_rules(&oss, Dialect::Oss).is_empty());
    // A stretch computes nothing from the aspect ratio.
    let stretch = parsed(Dialect::Cos, "imageMogr2/thumbnail/300x200!");
    assert!(house_rules(&stretch, Dialect::Us3).is_empty());
}

#[test]
fn watermark_text_survives_base64() {
    // Text with characters that base64 turns into `-` and `_`.
    let text = "水印 ~?>";
    let oss = format!(
        "image/watermark,text_{},g_center",
        b64url_encode(text.as_bytes())
    );
    let p = parsed(Dialect::Oss, &oss);
    for d in ALL {
        let out = check(&oss, &p, d);
        if d == Dialect::Oss {
            assert!(out.is_ok(), "{out:?}");
        }
    }
}
