//! The coverage-guided fuzz targets (fuzz/fuzz_targets/*.rs call
//! [`run`]), their seed inputs, and the replay of the crashes they found
//! (tests/fuzz_corpus.rs runs the seeds and fuzz/regressions/ in cargo test).
//!
//! A decoder target's input is a selector (two bytes, little-endian: bit 0
//! picks the base image, the rest one of its structures of that kind) and
//! the raw bytes of that structure: a whole block, or for the superblock and
//! an inode just the record. The bytes replace the structure in the image,
//! the checksums are resealed, the decoder runs directly where it is public
//! (superblock, journal recovery), then the image is mounted,
//! operated on and checked (fsck -n must write nothing, then -y). The
//! `mount_ops` input is a mutation description: the choices of
//! [`run_case`] (base, block kind, blocks, field edits, what operations
//! touch) drawn from its bytes, with the full invariants of the seeded run.

use super::*;

/// A target's entry: Err is a broken invariant.
pub type Entry = fn(&[u8]) -> Result<(), String>;

/// Every target: its name (the file in fuzz/fuzz_targets/) and entry.
pub const TARGETS: &[(&str, Entry)] = &[
    ("superblock", superblock),
    ("inode", inode),
    ("extent_block", extent_block),
    ("dir_block", dir_block),
    ("journal", journal_records),
    ("vector_slot", vector_slot),
    ("graph_rows", graph_rows),
    ("mount_ops", mount_ops),
];

/// Run target `name` on one input: Err is a broken invariant (a panic is
/// the other failure).
pub fn run(name: &str, data: &[u8]) -> Result<(), String> {
    match TARGETS.iter().find(|t| t.0 == name) {
        Some(t) => (t.1)(data),
        None => Err(format!("no fuzz target {}", name)),
    }
}

/// A structure a decoder target can replace: (block, byte offset, length,
/// the kind to reseal it as).
#[derive(Clone, Copy, Debug)]
struct Region {
    blk: u64,
    off: usize,
    len: usize,
    kind: Kind,
}

fn regions(base: &Base, target: &str) -> Vec<Region> {
    let whole = |kinds: &[Kind]| -> Vec<Region> {
        base.targets
            .iter()
            .filter(|t| kinds.contains(&t.1))
            .map(|&(blk, kind)| Region {
                blk,
                off: 0,
                len: BLOCK_SIZE,
                kind,
            })
            .collect()
    };
    match target {
        "superblock" => vec![Region {
            blk: 0,
            off: 0,
            len: SUPERBLOCK_SIZE,
            kind: Kind::Super,
        }],
        "inode" => {
            // The inodes in use, and one free slot after each used block.
            let mut v = Vec::new();
            for r in whole(&[Kind::InodeTable]) {
                let b = base.img.block(r.blk);
                let mut free = None;
                for k in 0..INODES_PER_BLOCK as usize {
                    let used = b[k * INODE_SIZE..][..INODE_SIZE].iter().any(|&x| x != 0);
                    let reg = Region {
                        blk: r.blk,
                        off: k * INODE_SIZE,
                        len: INODE_SIZE,
                        kind: Kind::InodeTable,
                    };
                    if used {
                        v.push(reg);
                    } else if free.is_none() {
                        free = Some(reg);
                    }
                }
                v.extend(free);
            }
            v
        }
        "extent_block" => whole(&[Kind::Extent]),
        "dir_block" => whole(&[Kind::Dir]),
        "journal" => whole(&[Kind::JournalSuper, Kind::JournalLog]),
        "vector_slot" => whole(&[Kind::VecSlot]),
        "graph_rows" => whole(&[Kind::VecRows]),
        _ => Vec::new(),
    }
}

/// Split an input into (base, region index, bytes).
fn select(data: &[u8]) -> (usize, usize, &[u8]) {
    let sel = u16::from_le_bytes([
        data.first().copied().unwrap_or(0),
        data.get(1).copied().unwrap_or(0),
    ]);
    (
        (sel & 1) as usize,
        (sel >> 1) as usize,
        data.get(2..).unwrap_or(&[]),
    )
}

/// Replace the selected structure with the input bytes, reseal, drive.
fn region_target(target: &str, data: &[u8]) -> Result<(), String> {
    let (b, i, bytes) = select(data);
    let base = &bases()[b];
    let regs = regions(base, target);
    let Some(&r) = regs.get(i % regs.len().max(1)) else {
        return Ok(());
    };
    let mut img = base.img.clone();
    let n = bytes.len().min(r.len);
    img.block_mut(r.blk)[r.off..r.off + n].copy_from_slice(&bytes[..n]);
    reseal(&mut img, r.blk, r.kind);
    // Operations draw their choices from the bytes past the structure.
    let mut src = Bytes(bytes.get(r.len..).unwrap_or(&[]));
    drive(&img, &mut src, |fs| {
        if r.kind == Kind::InodeTable {
            let ino = (r.blk - img.sb().inode_table_start.get()) * INODES_PER_BLOCK
                + (r.off / INODE_SIZE) as u64
                + 1;
            one_inode(fs, ino);
        }
    })
}

/// Everything the core does with one inode, whether or not a directory
/// names it.
fn one_inode(fs: &mut Fs<Img>, ino: u64) {
    let mut buf = vec![0u8; 2 * BLOCK_SIZE];
    if fs.iget(ino).is_err() {
        return;
    }
    let _ = fs.getattr(ino);
    let _ = fs.read(ino, 0, &mut buf);
    let _ = fs.read(ino, 40 * BLOCK_SIZE as u64 + 17, &mut buf);
    let _ = fs.readdir(ino, 0);
    let _ = fs.list_dir(ino);
    let _ = fs.lookup(ino, b"b.txt");
    let _ = fs.map_blocks(ino, 3, 8, false);
    let _ = fs.vec_get(ino);
    if !fs.read_only() {
        let _ = fs.write(ino, 1000, &buf[..3000]);
        let _ = fs.truncate(ino, 5 * BLOCK_SIZE as u64);
        let _ = fs.create(ino, b"fz-child", REG, 0, 0, 0);
        let _ = fs.vec_set(ino, &[1.0, 0.0, -1.0, 2.0]);
    }
    let _ = fs.evict(ino, false);
}

/// The light drive of a decoder target: the public decoders, a read-write
/// mount with `extra` and the usual operations, then fsck -n (which must
/// not write) and -y.
fn drive(img: &Img, src: &mut dyn Src, extra: impl FnOnce(&mut Fs<Img>)) -> Result<(), String> {
    decoders(img);
    if let Ok(mut fs) = Fs::mount(img.clone(), false) {
        extra(&mut fs);
        exercise(&mut fs, src);
        let _ = fs.unmount();
    }
    let mut dev = img.clone();
    let n = fsck(&mut dev, Mode::No);
    if dev != *img {
        return Err(format!("fsck -n wrote to the device:\n{}", show(&n)));
    }
    let _ = fsck(&mut dev, Mode::Yes);
    Ok(())
}

fn superblock(data: &[u8]) -> Result<(), String> {
    region_target("superblock", data)
}

fn inode(data: &[u8]) -> Result<(), String> {
    region_target("inode", data)
}

fn extent_block(data: &[u8]) -> Result<(), String> {
    region_target("extent_block", data)
}

fn dir_block(data: &[u8]) -> Result<(), String> {
    region_target("dir_block", data)
}

fn journal_records(data: &[u8]) -> Result<(), String> {
    region_target("journal", data)
}

fn vector_slot(data: &[u8]) -> Result<(), String> {
    region_target("vector_slot", data)
}

fn graph_rows(data: &[u8]) -> Result<(), String> {
    region_target("graph_rows", data)
}

/// The mutation engine of the seeded run, its choices drawn from the input.
fn mount_ops(data: &[u8]) -> Result<(), String> {
    run_case(&mut Bytes(data), None)
}

/// Seed inputs of target `name`, from the mkfs-built base images: every
/// structure a decoder target can replace as it is (up to `per_base` of
/// each base, spread evenly), and for `mount_ops` the
/// choices the seeded run makes for its first cases.
pub fn seeds(name: &str, per_base: usize) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    match name {
        "mount_ops" => {
            for i in 0..(2 * per_base) as u64 {
                let mut rng = Rng::new(0xf022_0000 + i);
                out.push((0..96).flat_map(|_| rng.next().to_le_bytes()).collect());
            }
        }
        _ => {
            for (b, base) in bases().iter().enumerate() {
                let regs = regions(base, name);
                let step = regs.len().div_ceil(per_base.max(1)).max(1);
                for (i, r) in regs.iter().enumerate().step_by(step) {
                    let sel = ((i << 1) | b) as u16;
                    let mut s = sel.to_le_bytes().to_vec();
                    s.extend_from_slice(&base.img.block(r.blk)[r.off..r.off + r.len]);
                    out.push(s);
                }
            }
        }
    }
    out
}
