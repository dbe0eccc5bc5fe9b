//! The synchronous core on tars built in memory: whiteouts, opaque
//! directories, paths, hard links, symlinks, bounds, broken blobs.

use std::io::{Read, Write as _};
use std::sync::Mutex;

use super::*;

/// Raw tar entries, paths written byte for byte (the tar crate's own
/// setters refuse `..`, which is exactly what some tests need).
#[derive(Default)]
struct Tar {
    builder: Option<tar::Builder<Vec<u8>>>,
}

impl Tar {
    fn new() -> Tar {
        Tar {
            builder: Some(tar::Builder::new(Vec::new())),
        }
    }

    fn header(path: &str, kind: tar::EntryType, size: u64, mode: u32) -> tar::Header {
        let mut h = tar::Header::new_gnu();
        let name = &mut h.as_old_mut().name;
        assert!(path.len() < name.len(), "test paths are short");
        name[..path.len()].copy_from_slice(path.as_bytes());
        h.set_entry_type(kind);
        h.set_size(size);
        h.set_mode(mode);
        h.set_mtime(0);
        h.set_cksum();
        h
    }

    fn append(&mut self, h: &tar::Header, data: &[u8]) -> &mut Tar {
        let builder = self.builder.as_mut().unwrap();
        builder.append(h, data).unwrap();
        self
    }

    fn file(&mut self, path: &str, data: &str) -> &mut Tar {
        let h = Tar::header(path, tar::EntryType::Regular, data.len() as u64, 0o644);
        self.append(&h, data.as_bytes())
    }

    fn dir(&mut self, path: &str) -> &mut Tar {
        let h = Tar::header(path, tar::EntryType::Directory, 0, 0o755);
        self.append(&h, &[])
    }

    fn link(&mut self, kind: tar::EntryType, path: &str, target: &str) -> &mut Tar {
        let mut h = Tar::header(path, kind, 0, 0o777);
        let name = &mut h.as_old_mut().linkname;
        name[..target.len()].copy_from_slice(target.as_bytes());
        h.set_cksum();
        self.append(&h, &[])
    }

    fn symlink(&mut self, path: &str, target: &str) -> &mut Tar {
        self.link(tar::EntryType::Symlink, path, target)
    }

    fn hardlink(&mut self, path: &str, target: &str) -> &mut Tar {
        self.link(tar::EntryType::Link, path, target)
    }

    fn bytes(&mut self) -> Vec<u8> {
        self.builder.take().unwrap().into_inner().unwrap()
    }
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

fn digest(bytes: &[u8]) -> String {
    crate::registry::oci::sha256_hex_digest(bytes)
}

/// Wants the paths `pick` says yes to; keeps their contents as text, and
/// remembers every path it was asked about.
struct Grab {
    pick: fn(&str) -> bool,
    asked: Mutex<Vec<String>>,
}

impl Grab {
    fn new(pick: fn(&str) -> bool) -> Grab {
        Grab {
            pick,
            asked: Mutex::new(Vec::new()),
        }
    }
    fn all() -> Grab {
        Grab::new(|_| true)
    }
}

impl Collector for Grab {
    type Item = String;
    fn wants(&self, file: &FileMeta<'_>) -> bool {
        self.asked.lock().unwrap().push(file.path.to_string());
        (self.pick)(file.path)
    }
    fn collect(&self, _file: &FileMeta<'_>, contents: &mut Contents) -> Option<String> {
        Some(String::from_utf8_lossy(&contents.to_vec().ok()?).into_owned())
    }
}

fn plain(tars: Vec<Vec<u8>>) -> Vec<LayerBlob<std::io::Cursor<Vec<u8>>>> {
    tars.into_iter()
        .map(|t| LayerBlob::new(std::io::Cursor::new(t), Compression::None))
        .collect()
}

fn squash(tars: Vec<Vec<u8>>) -> Squashed<String> {
    squash_layers(plain(tars), &Grab::all(), &Limits::default()).unwrap()
}

fn paths(s: &Squashed<String>) -> Vec<String> {
    s.entries().map(|(p, _)| p.to_string()).collect()
}

fn item<'a>(s: &'a Squashed<String>, path: &str) -> Option<&'a str> {
    s.lookup(path).and_then(|(_, e)| e.item.as_deref())
}

#[test]
fn three_layers_delete_a_file_and_make_a_directory_opaque() {
    let base = Tar::new()
        .dir("etc/")
        .file("etc/os-release", "ID=debian\n")
        .file("etc/keep", "v0")
        .dir("opt/app/")
        .file("opt/app/a", "a")
        .file("opt/app/sub/b", "b")
        .file("var/lib/x", "x")
        .file("var/lib/dir/y", "y")
        .bytes();
    let middle = Tar::new()
        .file("var/lib/.wh.x", "")
        .file("var/lib/.wh.dir", "")
        .file("opt/app/.wh..wh..opq", "")
        .file("opt/app/new", "new")
        .bytes();
    // The opaque marker after this layer's own entry; a whiteout and a
    // re-added file in the same layer.
    let top = Tar::new()
        .file("opt/app/late", "late")
        .file("opt/app/.wh..wh..opq", "")
        .file("etc/keep", "v2")
        .file("etc/.wh.keep", "")
        .bytes();
    let s = squash(vec![base, middle, top]);
    assert_eq!(
        paths(&s),
        [
            "/etc",
            "/etc/keep",
            "/etc/os-release",
            "/opt/app",
            "/opt/app/late"
        ]
    );
    assert_eq!(item(&s, "/etc/keep"), Some("v2"));
    assert_eq!(s.entry("/etc/keep").unwrap().layer, 2);
    assert_eq!(s.entry("/etc/os-release").unwrap().layer, 0);
    assert_eq!(s.entry("/opt/app/late").unwrap().layer, 2);
    assert_eq!(s.layers(), 3);
    // Whiteout files are markers, not files.
    assert!(s.entries().all(|(p, _)| !p.contains(".wh.")));
}

#[test]
fn an_opaque_marker_keeps_its_own_layers_entries_wherever_it_is() {
    let base = || {
        Tar::new()
            .file("d/old", "old")
            .file("d/sub/older", "o")
            .bytes()
    };
    let first = Tar::new()
        .file("d/.wh..wh..opq", "")
        .file("d/new", "new")
        .file("d/sub2/deeper", "n")
        .bytes();
    let last = Tar::new()
        .file("d/new", "new")
        .file("d/sub2/deeper", "n")
        .file("d/.wh..wh..opq", "")
        .bytes();
    let a = squash(vec![base(), first]);
    let b = squash(vec![base(), last]);
    assert_eq!(paths(&a), ["/d/new", "/d/sub2/deeper"]);
    assert_eq!(paths(&a), paths(&b));
    // The opaque directory itself stays.
    let c = squash(vec![
        Tar::new().dir("d/").file("d/x", "x").bytes(),
        Tar::new().dir("d/").file("d/.wh..wh..opq", "").bytes(),
    ]);
    assert_eq!(paths(&c), ["/d"]);
    assert_eq!(c.entry("/d").unwrap().kind, Kind::Dir);
}

#[test]
fn a_whiteout_deletes_a_directory_and_everything_under_it_but_not_neighbours() {
    let s = squash(vec![
        Tar::new()
            .file("a/b/c", "1")
            .file("a/b/d/e", "2")
            .file("a/b-x", "3")
            .file("a/bc", "4")
            .bytes(),
        Tar::new().file("a/.wh.b", "").bytes(),
    ]);
    assert_eq!(paths(&s), ["/a/b-x", "/a/bc"]);
}

#[test]
fn a_file_over_a_directory_hides_what_it_held() {
    let s = squash(vec![
        Tar::new().file("a/b/c", "1").bytes(),
        Tar::new().file("a/b", "now a file").bytes(),
    ]);
    assert_eq!(paths(&s), ["/a/b"]);
}

#[test]
fn every_path_becomes_absolute_and_none_climbs_out() {
    let grab = Grab::all();
    let s = squash_layers(
        plain(vec![Tar::new()
            .file("./usr/bin/a", "a")
            .file("usr/bin/b", "b")
            .file("/usr/bin/c", "c")
            .file("../../etc/passwd", "root:x:0:0")
            .file("usr/../../../etc/shadow", "s")
            .dir("./")
            .bytes()]),
        &grab,
        &Limits::default(),
    )
    .unwrap();
    assert_eq!(
        paths(&s),
        [
            "/etc/passwd",
            "/etc/shadow",
            "/usr/bin/a",
            "/usr/bin/b",
            "/usr/bin/c"
        ]
    );
    // The collector only ever sees normalised paths.
    let asked = grab.asked.lock().unwrap().clone();
    assert_eq!(
        asked,
        [
            "/usr/bin/a",
            "/usr/bin/b",
            "/usr/bin/c",
            "/etc/passwd",
            "/etc/shadow"
        ]
    );
    assert_eq!(item(&s, "/etc/passwd"), Some("root:x:0:0"));
    let notes: Vec<&str> = s.notes().iter().map(|n| n.message.as_str()).collect();
    assert_eq!(notes.len(), 2, "{notes:?}");
    assert!(notes[0].contains("climbs above the root"), "{notes:?}");
}

#[test]
fn hard_links_get_their_targets_item() {
    let s = squash(vec![
        Tar::new()
            .file("usr/bin/python3.11", "py")
            .hardlink("usr/bin/python3", "usr/bin/python3.11")
            .bytes(),
        Tar::new()
            .hardlink("./usr/local/bin/py", "/usr/bin/python3.11")
            .hardlink("usr/local/bin/ghost", "nowhere")
            .hardlink("usr/local/bin/up", "../../../usr/bin/python3")
            .bytes(),
    ]);
    assert_eq!(item(&s, "/usr/bin/python3"), Some("py"));
    assert_eq!(item(&s, "/usr/local/bin/py"), Some("py"));
    assert_eq!(item(&s, "/usr/local/bin/up"), Some("py"));
    let py = s.entry("/usr/local/bin/py").unwrap();
    assert_eq!((py.kind.clone(), py.size, py.layer), (Kind::File, 2, 1));
    assert_eq!(s.entry("/usr/local/bin/ghost").unwrap().kind, Kind::Other);
    assert!(s
        .notes()
        .iter()
        .any(|n| n.path == "/usr/local/bin/ghost" && n.message.contains("/nowhere")));
}

#[test]
fn a_hard_link_to_a_file_not_kept_says_so() {
    let grab = Grab::new(|p| p == "/b");
    let s = squash_layers(
        plain(vec![Tar::new().file("a", "x").hardlink("b", "a").bytes()]),
        &grab,
        &Limits::default(),
    )
    .unwrap();
    assert_eq!(s.entry("/b").unwrap().item, None);
    assert!(s.notes().iter().any(|n| n.message.contains("not kept")));
}

/// Wants every file and keeps nothing: a cataloger that read a binary and
/// found no packages in it.
struct FindsNothing;

impl Collector for FindsNothing {
    type Item = String;
    fn wants(&self, _file: &FileMeta<'_>) -> bool {
        true
    }
    fn collect(&self, _file: &FileMeta<'_>, _contents: &mut Contents) -> Option<String> {
        None
    }
}

/// Debian's /usr/bin/perl5.36.0 is a hard link to /usr/bin/perl: the
/// target was read and held nothing, so the link holds nothing either and
/// there is nothing to warn about (wharf used to, for every Debian image).
#[test]
fn a_hard_link_to_a_file_read_and_found_empty_is_no_news() {
    let s = squash_layers(
        plain(vec![Tar::new()
            .file("usr/bin/perl", "elf")
            .hardlink("usr/bin/perl5.36.0", "usr/bin/perl")
            .bytes()]),
        &FindsNothing,
        &Limits::default(),
    )
    .unwrap();
    assert_eq!(s.entry("/usr/bin/perl5.36.0").unwrap().item, None);
    assert!(s.notes().is_empty(), "{:?}", s.notes());
}

#[test]
fn symlinks_resolve_inside_the_image_and_loops_end() {
    let s = squash(vec![Tar::new()
        .file("usr/lib/os-release", "ID=debian")
        .symlink("etc/os-release", "../usr/lib/os-release")
        .symlink("lib", "usr/lib")
        .symlink("abs", "/usr/lib/os-release")
        .symlink("escape", "../../../../usr/lib/os-release")
        .symlink("loop1", "loop2")
        .symlink("loop2", "/loop1")
        .symlink("etc/passwd", "/../../../../etc/passwd")
        .bytes()]);
    assert_eq!(item(&s, "/etc/os-release"), Some("ID=debian"));
    assert_eq!(item(&s, "/lib/os-release"), Some("ID=debian"));
    assert_eq!(item(&s, "/abs"), Some("ID=debian"));
    assert_eq!(item(&s, "/escape"), Some("ID=debian"));
    assert_eq!(
        s.lookup("/lib/os-release").map(|(p, _)| p),
        Some("/usr/lib/os-release")
    );
    assert!(s.lookup("/loop1").is_none());
    assert!(s.lookup("/loop1/x").is_none());
    // Climbing out of the root lands back on the link itself: a loop, not
    // the host's /etc/passwd.
    assert!(s.lookup("/etc/passwd").is_none());
    assert_eq!(s.resolve("/etc/passwd"), None);
    assert_eq!(
        s.entry("/lib").unwrap().kind,
        Kind::Symlink("usr/lib".into())
    );
}

#[test]
fn only_wanted_files_are_read_and_items_come_in_path_order() {
    let grab = Grab::new(|p| p.ends_with(".txt"));
    let s = squash_layers(
        plain(vec![
            Tar::new().file("z.txt", "z").file("a.bin", "a").bytes(),
            Tar::new().file("m.txt", "m").bytes(),
        ]),
        &grab,
        &Limits::default(),
    )
    .unwrap();
    let items: Vec<(&str, &str)> = s.items().map(|(p, _, i)| (p, i.as_str())).collect();
    assert_eq!(items, [("/m.txt", "m"), ("/z.txt", "z")]);
    assert_eq!(s.entry("/a.bin").unwrap().item, None);
    assert_eq!(s.entry("/a.bin").unwrap().size, 1);
}

#[test]
fn a_wanted_file_over_the_per_file_limit_is_skipped_with_a_note() {
    let limits = Limits {
        per_file: 10,
        ..Limits::default()
    };
    let s = squash_layers(
        plain(vec![Tar::new()
            .file("big", "01234567890123456789")
            .file("small", "ok")
            .bytes()]),
        &Grab::all(),
        &limits,
    )
    .unwrap();
    assert_eq!(s.entry("/big").unwrap().item, None);
    assert_eq!(s.entry("/big").unwrap().size, 20);
    assert_eq!(item(&s, "/small"), Some("ok"));
    assert!(
        s.notes()[0].message.contains("per-file limit"),
        "{:?}",
        s.notes()
    );
}

/// One tar entry of `size` zero bytes, gzip'd as it is written: the bomb
/// never exists uncompressed.
fn gzip_bomb(size: u64) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    let h = Tar::header("zeros", tar::EntryType::Regular, size, 0o644);
    gz.write_all(h.as_bytes()).unwrap();
    let zeros = vec![0u8; 1 << 20];
    let mut left = size;
    while left > 0 {
        let n = left.min(zeros.len() as u64) as usize;
        gz.write_all(&zeros[..n]).unwrap();
        left -= n as u64;
    }
    gz.write_all(&[0u8; 1024]).unwrap(); // end of archive
    gz.finish().unwrap()
}

#[test]
fn a_gzip_bomb_is_stopped_by_the_per_image_bound() {
    let bomb = gzip_bomb(1 << 30);
    assert!(bomb.len() < 2 << 20, "{}", bomb.len());
    let limits = Limits {
        per_image: 64 << 20,
        per_file: 1 << 20,
    };
    let layers = vec![
        LayerBlob::new(
            std::io::Cursor::new(Tar::new().file("a", "a").bytes()),
            Compression::None,
        ),
        LayerBlob::new(std::io::Cursor::new(bomb.clone()), Compression::Gzip)
            .expecting(&digest(&bomb), bomb.len() as u64),
    ];
    let err = squash_layers(layers, &Grab::new(|_| false), &limits)
        .unwrap_err()
        .to_string();
    assert!(err.contains("layer 1"), "{err}");
    assert!(err.contains("decompression bomb?"), "{err}");
    assert!(err.contains("64.0 MiB"), "{err}");
}

#[test]
fn a_wanted_file_larger_than_per_file_is_skipped_even_in_a_bomb() {
    // Default bounds: 1 GiB of zeros is within the image bound; the file is
    // over the per-file one, so the collector never gets it.
    let bomb = gzip_bomb(1 << 30);
    let s = squash_layers(
        vec![LayerBlob::new(
            std::io::Cursor::new(bomb),
            Compression::Gzip,
        )],
        &Grab::all(),
        &Limits::default(),
    )
    .unwrap();
    assert_eq!(s.entry("/zeros").unwrap().size, 1 << 30);
    assert_eq!(s.entry("/zeros").unwrap().item, None);
    assert!(s.decompressed_bytes() > 1 << 30);
}

#[test]
fn a_truncated_gzip_layer_is_an_error() {
    let tar = Tar::new().file("a", &"x".repeat(100_000)).bytes();
    let gz = gzip(&tar);
    for cut in [gz.len() / 2, gz.len() - 4] {
        let err = squash_layers(
            vec![LayerBlob::new(&gz[..cut], Compression::Gzip)],
            &Grab::all(),
            &Limits::default(),
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("layer 0: it is not a readable gzip'd tar"),
            "{err}"
        );
        assert!(err.contains("truncated"), "{err}");
    }
    // With the manifest's digest, the digest mismatch is what is reported.
    let cut = &gz[..gz.len() / 2];
    let err = squash_layers(
        vec![LayerBlob::new(cut, Compression::Gzip).expecting(&digest(&gz), gz.len() as u64)],
        &Grab::all(),
        &Limits::default(),
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains(&format!("not {}", digest(&gz))), "{err}");
}

#[test]
fn a_truncated_tar_is_an_error() {
    let tar = Tar::new()
        .file("a", "aaaa")
        .file("b", &"b".repeat(2000))
        .bytes();
    // Cut inside b's data, or inside its header.
    for cut in [512 * 3 + 100, 512 * 2 + 200] {
        for grab in [Grab::all(), Grab::new(|_| false)] {
            let err = squash_layers(
                vec![LayerBlob::new(&tar[..cut], Compression::None)],
                &grab,
                &Limits::default(),
            )
            .unwrap_err()
            .to_string();
            assert!(err.contains("truncated"), "cut {cut}: {err}");
        }
    }
    // Whole, it reads; and so it does cut cleanly after b, without the
    // end-of-archive blocks (umoci writes layers like that; Docker,
    // containerd and Go's archive/tar read them).
    for end in [tar.len(), 512 * 2 + 512 + 2048] {
        squash_layers(
            vec![LayerBlob::new(&tar[..end], Compression::None)],
            &Grab::all(),
            &Limits::default(),
        )
        .unwrap();
    }
}

#[test]
fn a_digest_mismatch_names_the_layer_and_both_digests_and_keeps_nothing() {
    let good = gzip(&Tar::new().file("etc/os-release", "ID=debian").bytes());
    let evil = gzip(&Tar::new().file("etc/os-release", "ID=evil").bytes());
    let want = digest(&good);
    let got = digest(&evil);
    let mut squasher: Squasher<String> = Squasher::new(Limits::default());
    squasher
        .add_layer(
            LayerBlob::new(&Tar::new().file("base", "b").bytes()[..], Compression::None),
            &Grab::all(),
        )
        .unwrap();
    let err = squasher
        .add_layer(
            LayerBlob::new(&evil[..], Compression::Gzip)
                .expecting(&want, evil.len() as u64)
                .named("img: layer 1 (x)"),
            &Grab::all(),
        )
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("img: layer 1 (x): "), "{err}");
    assert!(err.contains(&want) && err.contains(&got), "{err}");
    assert!(err.contains("nothing of it was used"), "{err}");
    let s = squasher.finish();
    assert_eq!(paths(&s), ["/base"]);
    assert_eq!(s.layers(), 1);
}

#[test]
fn a_blob_longer_than_its_descriptor_is_refused() {
    let good = gzip(&Tar::new().file("a", "a").bytes());
    let mut longer = good.clone();
    longer.extend_from_slice(b"trailing");
    let err = squash_layers(
        vec![LayerBlob::new(&longer[..], Compression::Gzip)
            .expecting(&digest(&good), good.len() as u64)],
        &Grab::all(),
        &Limits::default(),
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("longer than the"), "{err}");
}

#[test]
fn zstd_layers_read() {
    let tar = Tar::new().file("etc/alpine-release", "3.20.3\n").bytes();
    let zst = zstd::stream::encode_all(&tar[..], 3).unwrap();
    let s =
        squash_layers(
            vec![LayerBlob::new(&zst[..], Compression::Zstd)
                .expecting(&digest(&zst), zst.len() as u64)],
            &Grab::all(),
            &Limits::default(),
        )
        .unwrap();
    assert_eq!(item(&s, "/etc/alpine-release"), Some("3.20.3\n"));
}

#[test]
fn a_zstd_window_beyond_32_mib_is_refused() {
    // A frame that asks the decoder for a 128 MiB window (--long=27).
    let tar = Tar::new().file("a", &"x".repeat(1 << 20)).bytes();
    let mut enc = zstd::stream::Encoder::new(Vec::new(), 3).unwrap();
    enc.set_parameter(zstd::zstd_safe::CParameter::WindowLog(27))
        .unwrap();
    enc.set_pledged_src_size(None).unwrap();
    std::io::Write::write_all(&mut enc, &tar).unwrap();
    let zst = enc.finish().unwrap();
    let err = squash_layers(
        vec![LayerBlob::new(&zst[..], Compression::Zstd)],
        &Grab::all(),
        &Limits::default(),
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("memory"), "{err}");
}

#[test]
fn long_names_and_pax_paths_are_read() {
    let long = format!("usr/share/{}/file", "d".repeat(150));
    let mut b = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_gnu();
    h.set_size(4);
    h.set_mode(0o644);
    h.set_entry_type(tar::EntryType::Regular);
    b.append_data(&mut h, &long, &b"long"[..]).unwrap();
    // A PAX header naming the next entry.
    let record = format!(" path=pax/{}\n", "p".repeat(200));
    let record = format!("{}{record}", record.len() + 3);
    let px = Tar::header(
        "PaxHeader",
        tar::EntryType::XHeader,
        record.len() as u64,
        0o644,
    );
    b.append(&px, record.as_bytes()).unwrap();
    let short = Tar::header("short", tar::EntryType::Regular, 3, 0o644);
    b.append(&short, &b"pax"[..]).unwrap();
    let tar = b.into_inner().unwrap();
    let s = squash(vec![tar]);
    assert_eq!(item(&s, &format!("/{long}")), Some("long"));
    assert_eq!(item(&s, &format!("/pax/{}", "p".repeat(200))), Some("pax"));
}

#[test]
fn a_huge_extension_header_is_refused() {
    let mut b = tar::Builder::new(Vec::new());
    let record = format!(" path={}\n", "p".repeat(2 << 20));
    let record = format!("{}{record}", record.len() + 7);
    let px = Tar::header(
        "PaxHeader",
        tar::EntryType::XHeader,
        record.len() as u64,
        0o644,
    );
    b.append(&px, record.as_bytes()).unwrap();
    let f = Tar::header("f", tar::EntryType::Regular, 1, 0o644);
    b.append(&f, &b"f"[..]).unwrap();
    let tar = b.into_inner().unwrap();
    let err = squash_layers(
        vec![LayerBlob::new(&tar[..], Compression::None)],
        &Grab::all(),
        &Limits::default(),
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("extension header"), "{err}");
}

#[test]
fn media_types_name_their_compression() {
    use Compression as C;
    for (media_type, want) in [
        ("application/vnd.oci.image.layer.v1.tar", Some(C::None)),
        ("application/vnd.oci.image.layer.v1.tar+gzip", Some(C::Gzip)),
        ("application/vnd.oci.image.layer.v1.tar+zstd", Some(C::Zstd)),
        (
            "application/vnd.docker.image.rootfs.diff.tar.gzip",
            Some(C::Gzip),
        ),
        (
            "application/vnd.oci.image.layer.v1.tar+gzip+encrypted",
            None,
        ),
        ("application/vnd.dev.sigstore.bundle.v0.3+json", None),
    ] {
        assert_eq!(
            Compression::from_media_type(media_type),
            want,
            "{media_type}"
        );
    }
}

#[test]
fn the_catalogers_see_the_view_through_files() {
    use crate::sbom::files::{Extracted, Files};
    struct Bytes;
    impl Collector for Bytes {
        type Item = Extracted;
        fn wants(&self, f: &FileMeta<'_>) -> bool {
            f.path.starts_with("/usr/lib/")
        }
        fn collect(&self, _: &FileMeta<'_>, c: &mut Contents) -> Option<Extracted> {
            Some(Extracted::Bytes(c.to_vec().ok()?))
        }
    }
    let tar = Tar::new()
        .file("usr/lib/os-release", "ID=debian")
        .symlink("etc/os-release", "../usr/lib/os-release")
        .bytes();
    let s = squash_layers(
        vec![LayerBlob::new(&tar[..], Compression::None)],
        &Bytes,
        &Limits::default(),
    )
    .unwrap();
    let found = s.get("/etc/os-release").unwrap();
    assert_eq!(found.path, "/usr/lib/os-release");
    assert_eq!(found.data, &Extracted::Bytes(b"ID=debian".to_vec()));
    assert_eq!(s.collected().len(), 1);
}

#[test]
fn reading_does_not_need_the_whole_layer_in_one_read() {
    // A reader that hands out one byte at a time.
    struct Trickle<'a>(&'a [u8]);
    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            if self.0.is_empty() || buf.is_empty() {
                return Ok(0);
            }
            buf[0] = self.0[0];
            self.0 = &self.0[1..];
            Ok(1)
        }
    }
    let gz = gzip(&Tar::new().file("a/b", "hello").bytes());
    let s = squash_layers(
        vec![LayerBlob::new(Trickle(&gz), Compression::Gzip)
            .expecting(&digest(&gz), gz.len() as u64)],
        &Grab::all(),
        &Limits::default(),
    )
    .unwrap();
    assert_eq!(item(&s, "/a/b"), Some("hello"));
}
