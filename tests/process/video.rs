//! Video frame snapshots (OSS `video/snapshot`, COS `ci-process=snapshot`)
//! over HTTP: a 2 s H.264 clip made at test time with ffmpeg's `testsrc`
//! (a moving picture with a frame counter, so frames at two times differ).

use crate::common::*;

const B: &str = "videos";

/// A `seconds`-long 320×240 H.264 MP4 at 25 frames per second.
fn clip(seconds: u32) -> Vec<u8> {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("clip.mp4");
    let status = std::process::Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i"])
        .arg(format!("testsrc=duration={seconds}:size=320x240:rate=25"))
        .args(["-c:v", "libx264", "-pix_fmt", "yuv420p", "-g", "25"])
        .arg(&out)
        .status()
        .expect("ffmpeg (Debian's package, installed by .ci/deps.sh) must be on PATH");
    assert!(status.success(), "ffmpeg could not make the test clip");
    std::fs::read(out).expect("the clip")
}

/// Temporary files of snapshots still on disk.
fn leftover_temp_files() -> usize {
    std::fs::read_dir(std::env::temp_dir())
        .map(|d| {
            d.filter_map(|e| e.ok())
                .filter(|e| {
                    e.file_name()
                        .to_string_lossy()
                        .starts_with("imgbucket-video-")
                })
                .count()
        })
        .unwrap_or(0)
}

#[tokio::test]
async fn snapshots_in_both_dialects() {
    let s = Server::start().await;
    s.mb(B).await;
    s.upload(B, "clip.mp4", &clip(2), "video/mp4").await;
    let oss = |process: &str| format!("/{B}/clip.mp4?x-oss-process=video/snapshot,{process}");

    // The frame as decoded, in PNG; two times give two different frames.
    let a = s.get(&oss("t_500,f_png")).await;
    a.expect_image("image/png");
    assert_eq!(a.dims(), (320, 240));
    let b = s.get(&oss("t_1500,f_png")).await;
    b.expect_image("image/png");
    assert_ne!(
        a.image().as_raw(),
        b.image().as_raw(),
        "frames 0.5 s and 1.5 s are equal"
    );
    // The key frame at or before 1.5 s (one every second here) is the
    // frame at 1 s: not the exact frame.
    let k = s.get(&oss("t_1500,f_png,m_fast")).await;
    assert_ne!(k.image().as_raw(), b.image().as_raw());

    // Scaled, JPEG by default, and cached like any processed image.
    let r = s.get(&oss("t_1000,w_160")).await;
    r.expect_image("image/jpeg");
    assert_eq!(r.dims(), (160, 120));
    assert_eq!(r.header("x-imgbucket-cache"), Some("miss"));
    let again = s.get(&oss("t_1000,w_160")).await;
    assert_eq!(again.header("x-imgbucket-cache"), Some("hit"));
    assert_eq!(again.body, r.body);
    assert_eq!(s.get(&oss("t_1000,w_100,h_100")).await.dims(), (100, 100));

    // Past the end, and a parameter out of range: 400 in OSS's envelope.
    s.get(&oss("t_9000"))
        .await
        .oss_error(400, "InvalidArgument");
    s.get(&oss("t_1,f_webp"))
        .await
        .oss_error(400, "InvalidArgument");

    // COS: seconds, width/height, format.
    let r = s
        .get(&format!(
            "/{B}/clip.mp4?ci-process=snapshot&time=0.5&width=100&format=png"
        ))
        .await;
    r.expect_image("image/png");
    assert_eq!(r.dims(), (100, 75));
    let same = s.get(&oss("t_500,w_100,f_png")).await;
    assert_eq!(r.image().as_raw(), same.image().as_raw());
    let r = s
        .get(&format!("/{B}/clip.mp4?ci-process=snapshot&time=30"))
        .await;
    r.cos_error(400, Some("-443"));

    // No temporary copy of the video outlives its request.
    assert_eq!(leftover_temp_files(), 0);
}
