//! Video frame snapshots: the frame of a video at a given time, as a PNG
//! that the rest of the pipeline then processes like any image source.
//!
//! The frame is decoded by the `ffmpeg` program (Debian's 5.1) run as a
//! child process, not by FFmpeg's libraries linked in. Video demuxers and
//! decoders are a large body of C that parses hostile input, and a bug in
//! one must not take the server with it:
//! - a child process can be killed: it runs under the request's deadline
//!   (`processing.timeout`, the job's [`Cancel`]) and is killed when that
//!   passes or the client goes away;
//! - its memory is capped by the kernel (`prlimit --as`), and its CPU time
//!   too (`--cpu`), so a crafted file cannot exhaust the server's memory,
//!   nor spin after the server has gone;
//! - it reads one local file, and nothing else: only the `file` protocol and
//!   a fixed list of container formats (no playlists, no `concat`, no
//!   network), so an uploaded HLS or concat list cannot make it fetch URLs
//!   or read the server's files.
//!
//! The source is written to a temporary file (MP4s keep their index at the
//! end, so ffmpeg must seek), which is removed when the snapshot returns,
//! whatever the outcome.

use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::error::{Error, Result};
use crate::pipeline::VideoFrame;
use crate::probe::check;
use crate::{Cancel, Limits};

/// Largest frame a snapshot may produce, in pixels (4K UHD; an 8K video is
/// refused): the memory budget reserves a frame of this size for every
/// snapshot, since the size is known only once ffmpeg has run.
pub const MAX_FRAME_PIXELS: u64 = 3840 * 2160;

/// The child's address-space limit. ffmpeg maps its libraries and one
/// decoder's frame pool; 1 GiB of address space leaves room for 4K H.264 and
/// HEVC with one thread, and stops a runaway allocation.
const CHILD_ADDRESS_SPACE: u64 = 1 << 30;

/// The child's CPU-time limit, in seconds: a backstop for a child the
/// server could not kill (it crashed); the request's deadline comes first.
const CHILD_CPU_SECONDS: u32 = 120;

/// Largest PNG read back from the child: a 4K RGBA frame stored raw, plus
/// PNG's framing.
pub(crate) const MAX_FRAME_BYTES: u64 = MAX_FRAME_PIXELS * 4 + (1 << 20);

/// The containers ffmpeg may open: what phones, cameras and browsers record.
const FORMATS: &str = "mov,mp4,m4a,3gp,3g2,mj2,matroska,webm,avi,flv,mpegts,mpeg,ogg";

/// How often the deadline and the child are checked.
const POLL: Duration = Duration::from_millis(5);

/// The frame of `source` (a video file) at `frame.at_ms`, as PNG bytes.
/// `Error::Decode` when ffmpeg cannot read the file or the time is past its
/// end; `Error::TooLarge` for a frame over [`MAX_FRAME_PIXELS`];
/// `Error::Cancelled` or `Error::Timeout` (from `cancel`) when the request
/// ends first, the child then being killed.
pub(crate) fn snapshot(
    source: &[u8],
    frame: &VideoFrame,
    limits: &Limits,
    cancel: &Cancel,
) -> Result<Vec<u8>> {
    check("source bytes", source.len() as u64, limits.max_source_bytes)?;
    let mut file = tempfile::Builder::new()
        .prefix("imgbucket-video-")
        .tempfile()
        .map_err(|e| Error::Internal(format!("video temp file: {e}")))?;
    file.write_all(source)
        .and_then(|()| file.flush())
        .map_err(|e| Error::Internal(format!("video temp file: {e}")))?;
    let png = run_ffmpeg(file.path(), frame, cancel)?;
    // The temp file is removed here (drop), before the frame is processed.
    drop(file);
    if png.is_empty() {
        return Err(Error::Decode(format!(
            "the video has no frame at {} ms (past its end, or no video stream)",
            frame.at_ms
        )));
    }
    let (w, h) = png_size(&png)?;
    check(
        "video frame pixels",
        u64::from(w) * u64::from(h),
        MAX_FRAME_PIXELS,
    )?;
    Ok(png)
}

/// The ffmpeg command line for one frame of `path`.
fn ffmpeg_args(path: &std::path::Path, frame: &VideoFrame) -> Vec<String> {
    let seconds = format!("{}.{:03}", frame.at_ms / 1000, frame.at_ms % 1000);
    let mut args: Vec<String> = [
        "--as",
        "ffmpeg",
        "-nostdin",
        "-hide_banner",
        "-loglevel",
        "error",
        "-threads",
        "1",
        "-protocol_whitelist",
        "file",
        "-format_whitelist",
        FORMATS,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    // prlimit's own option and value come first.
    args[0] = format!("--as={CHILD_ADDRESS_SPACE}");
    args.insert(1, format!("--cpu={CHILD_CPU_SECONDS}"));
    args.insert(2, "--".into());
    if !frame.auto_rotate {
        args.push("-noautorotate".into());
    }
    // Before `-i`, `-ss` seeks in the input: to the key frame before the
    // time, then (unless only that key frame is wanted) decoding up to it.
    args.extend(["-ss".into(), seconds]);
    if frame.keyframe {
        args.push("-noaccurate_seek".into());
    }
    args.push("-i".into());
    args.push(path.to_string_lossy().into_owned());
    args.extend(
        [
            "-map",
            "0:v:0",
            "-frames:v",
            "1",
            "-an",
            "-sn",
            "-dn",
            "-f",
            "image2pipe",
            "-c:v",
            "png",
            "-",
        ]
        .iter()
        .map(|s| s.to_string()),
    );
    args
}

/// Runs ffmpeg under `prlimit` and returns what it wrote (empty when it
/// found no frame), killing it when `cancel` fires.
fn run_ffmpeg(path: &std::path::Path, frame: &VideoFrame, cancel: &Cancel) -> Result<Vec<u8>> {
    let mut child = Command::new("prlimit")
        .args(ffmpeg_args(path, frame))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| Error::Internal(format!("cannot start ffmpeg (through prlimit): {e}")))?;
    // The pipes are drained on their own threads, so that a large frame
    // never blocks the child on a full pipe while this thread waits.
    let stdout = child.stdout.take();
    let stderr = child.stderr.take();
    let out = std::thread::spawn(move || {
        let mut buf = Vec::new();
        if let Some(s) = stdout {
            // One byte more than allowed tells an oversized frame apart.
            let _ = s.take(MAX_FRAME_BYTES + 1).read_to_end(&mut buf);
        }
        buf
    });
    let err = std::thread::spawn(move || {
        let mut buf = Vec::new();
        if let Some(s) = stderr {
            let _ = s.take(4096).read_to_end(&mut buf);
        }
        buf
    });
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) => {}
            Err(e) => return Err(Error::Internal(format!("waiting for ffmpeg: {e}"))),
        }
        if let Err(stop) = cancel.check() {
            let _ = child.kill();
            let _ = child.wait();
            return Err(stop);
        }
        std::thread::sleep(POLL);
    };
    let png = out.join().unwrap_or_default();
    let message = String::from_utf8_lossy(&err.join().unwrap_or_default())
        .trim()
        .to_string();
    if png.len() as u64 > MAX_FRAME_BYTES {
        return Err(Error::TooLarge {
            what: "video frame bytes",
            value: png.len() as u64,
            limit: MAX_FRAME_BYTES,
        });
    }
    if !status.success() {
        let detail = message.lines().last().unwrap_or("no message");
        return Err(Error::Decode(format!("cannot read the video: {detail}")));
    }
    Ok(png)
}

/// Width and height from a PNG's IHDR.
fn png_size(png: &[u8]) -> Result<(u32, u32)> {
    if png.len() < 24 || &png[12..16] != b"IHDR" {
        return Err(Error::Decode("ffmpeg did not produce a PNG frame".into()));
    }
    let be = |at: usize| u32::from_be_bytes([png[at], png[at + 1], png[at + 2], png[at + 3]]);
    Ok((be(16), be(20)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_reads_one_local_file_under_limits() {
        let frame = VideoFrame {
            at_ms: 7_250,
            keyframe: true,
            auto_rotate: false,
        };
        let args = ffmpeg_args(std::path::Path::new("/tmp/v.mp4"), &frame);
        let line = args.join(" ");
        assert!(
            line.starts_with("--as=1073741824 --cpu=120 -- ffmpeg "),
            "{line}"
        );
        assert!(
            line.contains("-protocol_whitelist file -format_whitelist mov,mp4"),
            "{line}"
        );
        assert!(
            line.contains("-noautorotate -ss 7.250 -noaccurate_seek -i /tmp/v.mp4"),
            "{line}"
        );
        assert!(
            line.ends_with("-frames:v 1 -an -sn -dn -f image2pipe -c:v png -"),
            "{line}"
        );
        let exact = VideoFrame {
            at_ms: 50,
            keyframe: false,
            auto_rotate: true,
        };
        let line = ffmpeg_args(std::path::Path::new("/v"), &exact).join(" ");
        assert!(line.contains(" -ss 0.050 -i /v "), "{line}");
    }
}
