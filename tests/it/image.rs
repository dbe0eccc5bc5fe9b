//! `wharf::image::read` against real images: multi-layer images with
//! whiteouts pushed to the spawned registry, indexes (platform choice, the
//! index digest as subject), `oci:` layouts, gzip, zstd and plain layers,
//! and blobs corrupted where they are stored.

use std::path::Path;
use std::sync::Arc;

use wharf::config::Global;
use wharf::image::{Collector, Contents, FileMeta, ImageInfo, Limits, Squashed};
use wharf::registry::{ImageRef, Platform, RegistryClient};

use crate::common::oci::{Layer, OciLayout, LAYER, LAYER_TAR, LAYER_ZSTD};
use crate::common::registry::Registry;

/// Keeps the text of every file under one of its prefixes.
struct Texts(&'static [&'static str]);

impl Collector for Texts {
    type Item = String;
    fn wants(&self, file: &FileMeta<'_>) -> bool {
        self.0.iter().any(|p| file.path.starts_with(p))
    }
    fn collect(&self, _: &FileMeta<'_>, contents: &mut Contents) -> Option<String> {
        Some(String::from_utf8_lossy(&contents.to_vec().ok()?).into_owned())
    }
}

enum E<'a> {
    File(&'a str, &'a str),
    Dir(&'a str),
    Symlink(&'a str, &'a str),
}

/// A deterministic tar of `entries`.
fn tar(entries: &[E<'_>]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for e in entries {
        let mut h = tar::Header::new_gnu();
        h.set_mtime(0);
        h.set_uid(0);
        h.set_gid(0);
        match e {
            E::File(path, data) => {
                h.set_entry_type(tar::EntryType::Regular);
                h.set_mode(0o644);
                h.set_size(data.len() as u64);
                b.append_data(&mut h, path, data.as_bytes()).expect("file");
            }
            E::Dir(path) => {
                h.set_entry_type(tar::EntryType::Directory);
                h.set_mode(0o755);
                h.set_size(0);
                b.append_data(&mut h, path, &[][..]).expect("dir");
            }
            E::Symlink(path, target) => {
                h.set_entry_type(tar::EntryType::Symlink);
                h.set_mode(0o777);
                h.set_size(0);
                b.append_link(&mut h, path, target).expect("symlink");
            }
        }
    }
    b.into_inner().expect("tar")
}

fn client(registry: Option<&Registry>) -> RegistryClient {
    let mut global = Global::default();
    if let Some(r) = registry {
        global.insecure_registries.insert(r.host().to_string());
    }
    RegistryClient::new(&global).expect("client")
}

fn read(
    client: &RegistryClient,
    image: &str,
    platform: Option<&str>,
) -> Result<(ImageInfo, Squashed<String>), wharf::Error> {
    let image = ImageRef::parse(image).expect("image reference");
    let platform = platform.map(|p| Platform::parse(p).expect("platform"));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(wharf::image::read(
        client,
        &image,
        platform.as_ref(),
        Arc::new(Texts(&["/etc/", "/opt/", "/usr/lib/"])),
        &Limits::default(),
    ))
}

fn paths(s: &Squashed<String>) -> Vec<&str> {
    s.entries().map(|(p, _)| p).collect()
}

fn text<'a>(s: &'a Squashed<String>, path: &str) -> Option<&'a str> {
    s.lookup(path).and_then(|(_, e)| e.item.as_deref())
}

/// 4 MiB that gzip cannot shrink much, so the download comes in many
/// pieces through the channel.
fn big_text() -> String {
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    (0..4 << 20)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            char::from(b'!' + (x % 90) as u8)
        })
        .collect()
}

/// Three layers in three compressions: a base, a layer that deletes a file
/// and makes `/opt/app` opaque (adding its own file there first), and a
/// zstd layer on top.
fn three_layers() -> Vec<Layer> {
    let big = big_text();
    let base = tar(&[
        E::File("opt/big", &big),
        E::Dir("etc/"),
        E::File("etc/os-release", "ID=debian\nVERSION_ID=\"12\"\n"),
        E::File("etc/motd", "hello"),
        E::Dir("opt/app/"),
        E::File("opt/app/old", "old"),
        E::Dir("usr/lib/"),
        E::File("usr/lib/real", "real"),
    ]);
    let middle = tar(&[
        E::File("opt/app/new", "new"),
        E::File("opt/app/.wh..wh..opq", ""),
        E::File("etc/.wh.motd", ""),
    ]);
    let top = tar(&[
        E::Symlink("etc/link", "../usr/lib/real"),
        E::File("usr/lib/zstd", "zstd layer"),
    ]);
    vec![Layer::gzip(&base), Layer::plain(&middle), Layer::zstd(&top)]
}

fn assert_three_layers(s: &Squashed<String>) {
    assert_eq!(
        paths(s),
        [
            "/etc",
            "/etc/link",
            "/etc/os-release",
            "/opt/app",
            "/opt/app/new",
            "/opt/big",
            "/usr/lib",
            "/usr/lib/real",
            "/usr/lib/zstd"
        ]
    );
    assert_eq!(
        text(s, "/etc/os-release"),
        Some("ID=debian\nVERSION_ID=\"12\"\n")
    );
    assert_eq!(text(s, "/etc/link"), Some("real"));
    assert_eq!(text(s, "/opt/big").map(str::len), Some(4 << 20));
    assert!(text(s, "/opt/big") == Some(big_text().as_str()));
    assert_eq!(text(s, "/usr/lib/zstd"), Some("zstd layer"));
    assert_eq!(s.entry("/opt/app/new").map(|e| e.layer), Some(1));
    assert_eq!(s.entry("/usr/lib/zstd").map(|e| e.layer), Some(2));
    assert_eq!(s.layers(), 3);
}

#[test]
fn a_multi_layer_image_from_the_registry_squashes() {
    require_registry!();
    let registry = Registry::start();
    let dir = tempfile::tempdir().expect("dir");
    let mut layout = OciLayout::new(dir.path());
    let layers = three_layers();
    let image = layout.add_image_with("v1", "linux", "amd64", "three", &layers);
    layout.push("v1", &registry, "three", "v1");

    let (info, s) = read(
        &client(Some(&registry)),
        &format!("{}/three:v1", registry.host()),
        None,
    )
    .expect("read");
    assert_three_layers(&s);
    assert_eq!(info.subject, image.digest);
    assert_eq!(info.manifest, image.digest);
    assert_eq!(info.platform, "linux/amd64");
    assert_eq!(
        info.name,
        format!("{}/three@{}", registry.host(), image.digest)
    );
    let types: Vec<&str> = info.layers.iter().map(|l| l.media_type.as_str()).collect();
    assert_eq!(types, [LAYER, LAYER_TAR, LAYER_ZSTD]);
    let diff_ids: Vec<&str> = layers.iter().map(|l| l.diff_id.as_str()).collect();
    assert_eq!(info.diff_ids, diff_ids);
    for (got, layer) in info.layers.iter().zip(&layers) {
        assert_eq!(got.size, layer.blob.len() as u64);
        assert_eq!(got.digest, crate::common::sha256_digest(&layer.blob));
    }
}

#[test]
fn an_index_gives_the_platforms_image_and_its_own_digest_as_subject() {
    require_registry!();
    let registry = Registry::start();
    let dir = tempfile::tempdir().expect("dir");
    let mut layout = OciLayout::new(dir.path());
    let amd = layout.build_image_with(
        "linux",
        "amd64",
        "amd",
        &[Layer::gzip(&tar(&[E::File("etc/arch", "amd64")]))],
    );
    let arm = layout.build_image_with(
        "linux",
        "arm64",
        "arm",
        &[Layer::gzip(&tar(&[E::File("etc/arch", "arm64")]))],
    );
    let index = layout.add_index_of("multi", &[arm.clone(), amd.clone()]);
    layout.push("multi", &registry, "multi", "1");
    let client = client(Some(&registry));
    let reference = format!("{}/multi:1", registry.host());

    let (info, s) = read(&client, &reference, None).expect("default platform");
    assert_eq!(text(&s, "/etc/arch"), Some("amd64"));
    assert_eq!(info.subject, index.digest);
    assert_eq!(info.manifest, amd.digest);
    assert_eq!(info.platform, "linux/amd64");

    let pinned = format!("{}/multi@{}", registry.host(), index.digest);
    let (info, s) = read(&client, &pinned, Some("linux/arm64")).expect("arm64");
    assert_eq!(text(&s, "/etc/arch"), Some("arm64"));
    assert_eq!(info.subject, index.digest);
    assert_eq!(info.manifest, arm.digest);
    assert_eq!(info.platform, "linux/arm64");

    let err = read(&client, &reference, Some("linux/s390x"))
        .expect_err("no such platform")
        .to_string();
    assert!(
        err.contains("no manifest for linux/s390x") && err.contains("linux/arm64, linux/amd64"),
        "{err}"
    );
    // A single-platform image asked for another platform says so.
    let single = layout.add_image_with(
        "single",
        "linux",
        "arm64",
        "single",
        &[Layer::gzip(&tar(&[E::File("a", "a")]))],
    );
    layout.push("single", &registry, "single", "1");
    let err = read(
        &client,
        &format!("{}/single:1", registry.host()),
        Some("linux/amd64"),
    )
    .expect_err("wrong platform")
    .to_string();
    assert!(
        err.contains("single-platform image for linux/arm64"),
        "{err}"
    );
    assert!(err.contains(&single.digest), "{err}");
}

#[test]
fn an_oci_layout_reads_without_a_registry() {
    let dir = tempfile::tempdir().expect("dir");
    let mut layout = OciLayout::new(dir.path());
    let image = layout.add_image_with("three", "linux", "amd64", "three", &three_layers());
    let amd = layout.build_image_with(
        "linux",
        "amd64",
        "amd",
        &[Layer::zstd(&tar(&[E::File("etc/arch", "amd64")]))],
    );
    let arm = layout.build_image_with(
        "linux",
        "arm64",
        "arm",
        &[Layer::gzip(&tar(&[E::File("etc/arch", "arm64")]))],
    );
    let index = layout.add_index_of("multi", &[amd, arm.clone()]);
    let client = client(None);
    let d = dir.path().display();

    let (info, s) = read(&client, &format!("oci:{d}:three"), None).expect("by tag");
    assert_three_layers(&s);
    assert_eq!(info.subject, image.digest);
    assert_eq!(info.name, format!("oci:{d}@{}", image.digest));
    let (_, s) = read(&client, &format!("oci:{d}@{}", image.digest), None).expect("by digest");
    assert_three_layers(&s);

    let (info, s) = read(&client, &format!("oci:{d}:multi"), Some("linux/arm64")).expect("index");
    assert_eq!(text(&s, "/etc/arch"), Some("arm64"));
    assert_eq!((info.subject, info.manifest), (index.digest, arm.digest));
}

/// Flips one byte of the file at `path`, keeping its size.
fn corrupt(path: &Path) {
    let mut bytes = std::fs::read(path).expect("read blob");
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x55;
    std::fs::write(path, bytes).expect("write blob");
}

#[test]
fn a_corrupted_layer_in_the_registry_is_refused() {
    require_registry!();
    let registry = Registry::start();
    let dir = tempfile::tempdir().expect("dir");
    let mut layout = OciLayout::new(dir.path());
    let layers = three_layers();
    layout.add_image_with("v1", "linux", "amd64", "three", &layers);
    layout.push("v1", &registry, "three", "v1");
    let bad = crate::common::sha256_digest(&layers[1].blob);
    corrupt(&registry.blob_path(&bad));

    let err = read(
        &client(Some(&registry)),
        &format!("{}/three:v1", registry.host()),
        None,
    )
    .expect_err("a corrupt blob")
    .to_string();
    assert!(err.contains(&format!("layer 1 ({bad})")), "{err}");
    assert!(err.contains("hash to sha256:"), "{err}");
    assert!(err.contains(&format!("not {bad}")), "{err}");
}

#[test]
fn a_corrupted_layer_in_a_layout_is_refused() {
    let dir = tempfile::tempdir().expect("dir");
    let mut layout = OciLayout::new(dir.path());
    let layers = three_layers();
    layout.add_image_with("v1", "linux", "amd64", "three", &layers);
    let bad = crate::common::sha256_digest(&layers[2].blob);
    let hex = bad.trim_start_matches("sha256:");
    corrupt(&dir.path().join("blobs/sha256").join(hex));
    let err = read(
        &client(None),
        &format!("oci:{}:v1", dir.path().display()),
        None,
    )
    .expect_err("a corrupt blob")
    .to_string();
    assert!(err.contains(&format!("layer 2 ({bad})")), "{err}");
    assert!(err.contains(&format!("not {bad}")), "{err}");
}

/// Counts and hashes what is written through it.
struct HashWriter<W> {
    inner: W,
    hasher: sha2::Sha256,
    count: u64,
}

impl<W: std::io::Write> std::io::Write for HashWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        use sha2::Digest as _;
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.count += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// The process's peak resident set size so far, in KiB (`VmHWM`).
fn peak_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

fn median(mut times: Vec<std::time::Duration>) -> std::time::Duration {
    times.sort();
    times[times.len() / 2]
}

/// What an SBOM run wants: package databases, and (with `binaries`)
/// every executable, as the Go and Rust catalogers will.
struct Sbomish {
    binaries: bool,
}

impl Collector for Sbomish {
    type Item = usize;
    fn wants(&self, file: &FileMeta<'_>) -> bool {
        file.path == "/var/lib/dpkg/status"
            || file.path == "/etc/os-release"
            || (self.binaries && file.mode & 0o111 != 0)
    }
    fn collect(&self, _: &FileMeta<'_>, contents: &mut Contents) -> Option<usize> {
        // Stand-in for parsing: touch every byte.
        Some(
            contents
                .to_vec()
                .ok()?
                .iter()
                .filter(|b| **b == b'\n')
                .count(),
        )
    }
}

/// Not a correctness test: reading a single-layer ~120 MB (uncompressed)
/// gzip image from an `oci:` layout, against `gzip -dc LAYER > /dev/null`
/// on the same blob; median of 5 each, and the process's peak RSS. Run in
/// release:
/// `cargo test --release --test it image::perf_ -- --ignored --nocapture`
#[test]
#[ignore = "a measurement: run it in release with --ignored --nocapture"]
fn perf_single_layer_gzip_read_vs_gzip_dc() {
    require_tools!("gzip");
    let dir = tempfile::tempdir().expect("dir");
    let mut layout = OciLayout::new(&dir.path().join("layout"));
    let staged = dir.path().join("layer.tar.gz");
    let (diff_id, uncompressed) = {
        use sha2::Digest as _;
        let file = std::io::BufWriter::new(std::fs::File::create(&staged).expect("create"));
        let gz = flate2::GzBuilder::new()
            .mtime(0)
            .write(file, flate2::Compression::default());
        let mut tar = tar::Builder::new(HashWriter {
            inner: gz,
            hasher: sha2::Sha256::new(),
            count: 0,
        });
        tar.follow_symlinks(false);
        tar.mode(tar::HeaderMode::Deterministic);
        tar.append_dir_all("usr/lib/gcc", "/usr/lib/gcc")
            .expect("tar /usr/lib/gcc");
        for (host, inside) in [
            ("/var/lib/dpkg/status", "var/lib/dpkg/status"),
            ("/etc/os-release", "etc/os-release"),
        ] {
            if Path::new(host).exists() {
                tar.append_path_with_name(host, inside).expect("tar file");
            }
        }
        let hw = tar.into_inner().expect("finish tar");
        let diff_id = format!("sha256:{}", hex::encode(hw.hasher.finalize()));
        let mut file = hw.inner.finish().expect("finish gzip");
        std::io::Write::flush(&mut file).expect("flush");
        (diff_id, hw.count)
    };
    let blob = layout.move_blob(&staged);
    layout.add_image_from(
        "bench",
        "linux",
        "amd64",
        "bench",
        &[crate::common::oci::StoredLayer {
            media_type: LAYER.into(),
            blob: blob.clone(),
            diff_id,
        }],
    );
    let blob_path = layout
        .dir()
        .join("blobs/sha256")
        .join(blob.digest.trim_start_matches("sha256:"));
    let image = ImageRef::parse(&format!("oci:{}:bench", layout.dir().display())).expect("ref");
    let client = client(None);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    println!(
        "layer: {:.1} MB uncompressed, {:.1} MB gzip'd",
        uncompressed as f64 / 1e6,
        blob.size as f64 / 1e6
    );

    let rss_before = peak_rss_kib();
    let mut rows = Vec::new();
    for binaries in [false, true] {
        let collector = Arc::new(Sbomish { binaries });
        let times: Vec<_> = (0..5)
            .map(|_| {
                let start = std::time::Instant::now();
                let (_, s) = rt
                    .block_on(wharf::image::read(
                        &client,
                        &image,
                        None,
                        collector.clone(),
                        &Limits::default(),
                    ))
                    .expect("read");
                assert!(s.len() > 100);
                start.elapsed()
            })
            .collect();
        rows.push((binaries, median(times), peak_rss_kib()));
    }
    let gzip_times: Vec<_> = (0..5)
        .map(|_| {
            let start = std::time::Instant::now();
            let status = std::process::Command::new("gzip")
                .arg("-dc")
                .arg(&blob_path)
                .stdout(std::process::Stdio::null())
                .status()
                .expect("gzip");
            assert!(status.success());
            start.elapsed()
        })
        .collect();
    let gzip = median(gzip_times);
    println!("gzip -dc LAYER > /dev/null: median {gzip:.2?}");
    for (binaries, t, rss) in rows {
        println!(
            "wharf::image::read ({}): median {t:.2?} = {:.2}x gzip; peak RSS {} MiB (before reading: {} MiB)",
            if binaries {
                "dpkg status + every executable collected"
            } else {
                "dpkg status + os-release collected"
            },
            t.as_secs_f64() / gzip.as_secs_f64(),
            rss / 1024,
            rss_before / 1024
        );
    }
}
