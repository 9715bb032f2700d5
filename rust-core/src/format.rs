//! On-disk format v1 (docs/format.md is the prose version of this file).
//!
//! All integers are little-endian. Every metadata structure carries a crc32c;
//! every value read from disk is validated here before the rest of the core
//! sees it.

use crate::{Errno, Result};
use zerocopy::little_endian::{I64, U16, U32, U64};
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

pub const BLOCK_SIZE: usize = 4096;
pub const BLOCK_SHIFT: u32 = 12;
/// "VEXFSv1\0" read as a little-endian u64.
pub const MAGIC: u64 = u64::from_le_bytes(*b"VEXFSv1\0");
pub const VERSION_MAJOR: u32 = 1;
pub const VERSION_MINOR: u32 = 0;
pub const ROOT_INO: u64 = 1;
pub const NAME_MAX: usize = 255;
pub const LABEL_LEN: usize = 64;
pub const INODE_SIZE: usize = 256;
pub const INODES_PER_BLOCK: u64 = (BLOCK_SIZE / INODE_SIZE) as u64;

/// Feature bits. A kernel that meets an unknown incompat bit refuses to
/// mount, an unknown ro_compat bit mounts read-only.
pub const FEATURE_COMPAT_SUPP: u64 = 0;
/// Some extent may be unwritten (`EXTENT_UNWRITTEN`): set when the first
/// one is made (fallocate), so that an older kernel, which would read
/// preallocated blocks' stale contents, refuses the image.
pub const FEATURE_INCOMPAT_UNWRITTEN: u64 = 1 << 2;
pub const FEATURE_INCOMPAT_SUPP: u64 = FEATURE_INCOMPAT_UNWRITTEN;
pub const FEATURE_RO_COMPAT_SUPP: u64 = FEATURE_RO_COMPAT_DIR_INDEX | FEATURE_RO_COMPAT_VEC_ROWS;
/// Some directory is hash-indexed (set by the first conversion). ro_compat:
/// an index block is also a valid directory block holding no entry, so a
/// core that predates the index still reads every name (linearly), but
/// must not add names, which would overwrite index blocks.
pub const FEATURE_RO_COMPAT_DIR_INDEX: u64 = 1;
/// The HNSW graph lives on disk as rows addressed by slot, slots carry
/// tags and free/dead lists (docs/format.md "Vectors"). Kernels without it
/// can only read such an image (they would write a stored graph over the
/// rows).
pub const FEATURE_RO_COMPAT_VEC_ROWS: u64 = 1 << 1;

/// Superblock `state` values, as in ext4.
pub const STATE_CLEAN: u16 = 1;
pub const STATE_ERRORS: u16 = 2;

/// Magic values of checksummed metadata blocks (first field of `BlockHeader`).
pub const BLOCK_MAGIC_IBITMAP: u32 = 0x5642_4d49; // "IMBV"
pub const BLOCK_MAGIC_BBITMAP: u32 = 0x5642_4d42; // "BMBV"
pub const BLOCK_MAGIC_DIR: u32 = 0x5644_4952; // "RIDV"
pub const BLOCK_MAGIC_EXTENT: u32 = 0x5645_5854; // "TXEV"
pub const BLOCK_MAGIC_VSLOT: u32 = 0x5653_4c54; // "TLSV"
/// Blocks of the stored graph of images without `FEATURE_RO_COMPAT_VEC_ROWS`.
pub const BLOCK_MAGIC_VINDEX: u32 = 0x5649_4458; // "XDIV"
/// Graph row blocks (level in the header's `level`, `owner` = fs tag).
pub const BLOCK_MAGIC_VROWS: u32 = 0x5652_4f57; // "WORV"
pub const BLOCK_MAGIC_JSUPER: u32 = 0x5642_534a; // "JSBV"
pub const BLOCK_MAGIC_JDESC: u32 = 0x5644_534a; // "JSDV"
pub const BLOCK_MAGIC_JCOMMIT: u32 = 0x5643_534a; // "JSCV"

/// Slice-by-16 tables (16 KiB): 6.7x the byte-wise table's speed (1.3
/// against 8.9 µs per 4 KiB block on this machine); every metadata block is
/// checksummed on each read and write.
static CRC32C: crc::Crc<u32, crc::Table<16>> =
    crc::Crc::<u32, crc::Table<16>>::new(&crc::CRC_32_ISCSI);

/// crc32c of the little-endian bytes of `vals`, without a buffer.
pub fn crc32c_u32s(vals: &[u32]) -> u32 {
    let mut d = CRC32C.digest();
    for v in vals {
        d.update(&v.to_le_bytes());
    }
    d.finalize()
}

pub fn crc32c(parts: &[&[u8]]) -> u32 {
    let mut d = CRC32C.digest();
    for p in parts {
        d.update(p);
    }
    d.finalize()
}

/// Block 0. The checksum covers every byte of the struct before `checksum`.
#[derive(FromBytes, IntoBytes, KnownLayout, Immutable, Clone, Debug)]
#[repr(C)]
pub struct Superblock {
    pub magic: U64,
    pub version_major: U32,
    pub version_minor: U32,
    pub block_size: U32,
    pub state: U16,
    pub errors: U16,
    pub feature_compat: U64,
    pub feature_incompat: U64,
    pub feature_ro_compat: U64,
    pub uuid: [u8; 16],
    pub label: [u8; LABEL_LEN],
    pub block_count: U64,
    pub inode_count: U64,
    pub free_blocks: U64,
    pub free_inodes: U64,
    pub root_ino: U64,
    pub inode_bitmap_start: U64,
    pub inode_bitmap_blocks: U64,
    pub block_bitmap_start: U64,
    pub block_bitmap_blocks: U64,
    pub inode_table_start: U64,
    pub inode_table_blocks: U64,
    pub journal_start: U64,
    pub journal_blocks: U64,
    pub vector_start: U64,
    pub vector_blocks: U64,
    pub data_start: U64,
    pub mkfs_time: I64,
    pub mount_time: I64,
    pub write_time: I64,
    pub mount_count: U32,
    pub reserved_pad: U32,
    /// Vector space (0 = none): dimension, metric and HNSW parameters fixed by mkfs.
    pub vec_dim: U32,
    pub vec_metric: U32,
    pub hnsw_m: U32,
    pub hnsw_ef_construction: U32,
    pub hnsw_ef_search: U32,
    /// Bytes per vector slot (16-byte head + 4 * dim) and slots per slot block.
    pub vec_slot_size: U32,
    pub vec_slots_per_block: U32,
    pub vec_pad: U32,
    /// Slots in the vector area, vectors stored, blocks of slots at the
    /// start of the vector area; the HNSW graph uses the rest.
    pub vec_capacity: U64,
    pub vec_count: U64,
    pub vec_slot_blocks: U64,
    /// Next slot tag to hand out (`FEATURE_RO_COMPAT_VEC_ROWS`; images
    /// without it used this word for a stored graph's generation).
    pub vec_tag_next: U64,
    /// Slot blocks written so far; those past it are free and uninitialised
    /// (mkfs writes none, so formatting stays fast).
    pub vec_slot_blocks_inited: U64,
    /// First inode of the orphan list (unlinked while open): freed at the
    /// next mount if the kernel never got to it. 0 = empty.
    pub orphan_head: U64,
    /// Free slots (freed and unlinked from the graph), linked through their
    /// heads: first slot plus one, 0 = empty.
    pub vec_free_head: U64,
    /// Deleted slots whose graph node is not unlinked yet (the delete may
    /// not be durable): same linkage. Moved to the free list after commit.
    pub vec_dead_head: U64,
    /// Slots below this have been used; those above were never allocated.
    pub vec_slot_high: U64,
    /// Graph entry point plus one (0 = empty graph) and its level.
    pub vec_entry: U32,
    pub vec_top_level: U32,
    pub reserved: [U64; 2],
    pub checksum: U32,
    pub checksum_pad: U32,
}

pub const SUPERBLOCK_SIZE: usize = core::mem::size_of::<Superblock>();
const _: () = assert!(SUPERBLOCK_SIZE <= BLOCK_SIZE);

/// Bits of allocation state held by one bitmap block.
pub const BITS_PER_BITMAP_BLOCK: u64 = ((BLOCK_SIZE - HEADER_SIZE) * 8) as u64;

/// Header of every checksummed metadata block but the superblock and the
/// inode table (inodes carry their own checksums). `blocknr` catches
/// misdirected writes, `owner` (an inode number or 0) catches cross-links.
#[derive(FromBytes, IntoBytes, KnownLayout, Immutable, Clone, Debug)]
#[repr(C)]
pub struct BlockHeader {
    pub magic: U32,
    pub checksum: U32,
    pub blocknr: U64,
    pub owner: U64,
    /// Block-type specific (entry count for extent blocks).
    pub count: U32,
    /// Extent tree level for extent blocks (0 = leaf).
    pub level: U16,
    pub pad: U16,
}

pub const HEADER_SIZE: usize = core::mem::size_of::<BlockHeader>();
const _: () = assert!(HEADER_SIZE == 32);

/// A run of contiguous blocks: file blocks `logical..logical+len` live at
/// `start..start+len`. In index nodes `start` names a child block and `len`
/// is 0. `flags`: `EXTENT_UNWRITTEN` (leaves only); index entries have 0.
#[derive(
    FromBytes, IntoBytes, KnownLayout, Immutable, Clone, Copy, Debug, Default, PartialEq, Eq,
)]
#[repr(C)]
pub struct DiskExtent {
    pub logical: U64,
    pub start: U64,
    pub len: U32,
    pub flags: U32,
}

/// Leaf extent flag: the blocks are allocated (fallocate) but were never
/// written; they read as zeros whatever the disk holds.
pub const EXTENT_UNWRITTEN: u32 = 1;
/// Flag bits a leaf extent may carry.
pub const EXTENT_FLAGS_KNOWN: u32 = EXTENT_UNWRITTEN;

/// Inode `flags` (values of the Linux FS_*_FL bits, so FS_IOC_GETFLAGS
/// passes them through unchanged): immutable, append-only, not dumped, no
/// atime updates.
pub const INODE_FL_IMMUTABLE: u32 = 0x10;
pub const INODE_FL_APPEND: u32 = 0x20;
pub const INODE_FL_NODUMP: u32 = 0x40;
pub const INODE_FL_NOATIME: u32 = 0x80;
/// The flags a user sets (chattr); the others are the filesystem's own.
pub const INODE_FL_USER: u32 =
    INODE_FL_IMMUTABLE | INODE_FL_APPEND | INODE_FL_NODUMP | INODE_FL_NOATIME;
/// The directory is hash-indexed; its block 0 is the index root (`DxHead`).
/// FS_INDEX_FL's value, as ext4's htree flag: lsattr shows it as `I`.
pub const INODE_FLAG_DIR_INDEX: u32 = 0x1000;
/// Inode flag bits this version knows (others are refused by SETFLAGS and
/// reported by fsck).
pub const INODE_FL_KNOWN: u32 = INODE_FL_USER | INODE_FLAG_DIR_INDEX;

pub const EXTENT_SIZE: usize = core::mem::size_of::<DiskExtent>();

impl DiskExtent {
    /// Whether the extent lies in the data region of `sb`: a leaf maps
    /// 1.. blocks inside it and below the file size limit; an index entry
    /// names one block inside it. Shared by the mount code and fsck.
    pub fn in_bounds(&self, sb: &Superblock, leaf: bool) -> bool {
        let start = self.start.get();
        let len = u64::from(self.len.get());
        let ds = sb.data_start.get();
        let bc = sb.block_count.get();
        if !self.flags_ok(leaf) {
            return false;
        }
        if leaf {
            len > 0
                && start >= ds
                && start.checked_add(len).is_some_and(|end| end <= bc)
                && self
                    .logical
                    .get()
                    .checked_add(len)
                    .is_some_and(|end| end <= crate::fs::MAX_FILE_BLOCKS)
        } else {
            start >= ds && start < bc
        }
    }

    /// Leaves carry only known flags, index entries none.
    pub fn flags_ok(&self, leaf: bool) -> bool {
        let f = self.flags.get();
        if leaf {
            f & !EXTENT_FLAGS_KNOWN == 0
        } else {
            f == 0
        }
    }

    pub fn unwritten(&self) -> bool {
        self.flags.get() & EXTENT_UNWRITTEN != 0
    }
}
pub const INLINE_EXTENTS: usize = 4;
pub const EXTENTS_PER_BLOCK: usize = (BLOCK_SIZE - HEADER_SIZE) / EXTENT_SIZE;

#[derive(FromBytes, IntoBytes, KnownLayout, Immutable, Clone, Debug)]
#[repr(C)]
pub struct DiskInode {
    pub mode: U16,
    pub extent_depth: U16,
    pub uid: U32,
    pub gid: U32,
    pub nlink: U32,
    pub size: U64,
    /// Blocks owned (data and extent tree), in filesystem blocks.
    pub blocks: U64,
    pub atime: I64,
    pub mtime: I64,
    pub ctime: I64,
    pub crtime: I64,
    pub atime_nsec: U32,
    pub mtime_nsec: U32,
    pub ctime_nsec: U32,
    pub crtime_nsec: U32,
    pub generation: U32,
    pub flags: U32,
    pub rdev: U32,
    /// Entries used in `extents`.
    pub extent_count: U32,
    /// Parent directory (directories: the target of ".."); other files: a
    /// directory holding a link to it, or 0 when not known.
    pub parent: U64,
    pub extents: [DiskExtent; INLINE_EXTENTS],
    /// Vector slot holding this file's embedding, plus one (0 = none).
    pub vec_slot: U64,
    /// `Superblock::fs_tag()` of the filesystem that wrote the inode: mkfs
    /// does not clear the inode table, so a checker tells a stale inode of
    /// an earlier filesystem on the same device by this.
    pub fs_tag: U32,
    /// Next inode on the orphan list (0 = last).
    pub next_orphan: U64,
    /// Where the link `parent` hints at is: `PARENT_POS_HASH` | the cookie
    /// of its name (entries of an indexed directory move when a leaf
    /// splits; their hash does not), or, in images made before the index,
    /// the byte offset of its entry plus one. 0 = unknown. A hint only:
    /// checked against the entry's inode number, with a scan as fallback.
    pub parent_pos: U64,
    pub reserved: [u8; 24],
    /// crc32c of the inode number and the bytes above.
    pub checksum: U32,
}

const _: () = assert!(core::mem::size_of::<DiskInode>() == INODE_SIZE);

/// Head of a vector slot; `dim` little-endian f32 follow. A slot is free
/// when `ino` is 0. In use, `generation` is the owning inode's, so a slot
/// can never be taken for a later inode that reuses the number; free, it
/// links the free or dead list (next slot plus one, 0 = last). `tag` names
/// this incarnation of the slot (nonzero, from `vec_tag_next`): its graph
/// rows carry it, and a row with another tag is not this node's.
#[derive(FromBytes, IntoBytes, KnownLayout, Immutable, Clone, Debug)]
#[repr(C)]
pub struct VecSlotHead {
    pub ino: U64,
    pub generation: U32,
    pub tag: U32,
}

/// Head of a level-0 graph row; `2*M` little-endian u32 links follow,
/// `u32::MAX`-padded. The row of slot `n` is row `n % per` of level-0
/// block `n / per` (`GraphLayout`).
#[derive(FromBytes, IntoBytes, KnownLayout, Immutable, Clone, Debug)]
#[repr(C)]
pub struct GraphRowHead {
    /// The slot's tag when written (0: no row).
    pub tag: U32,
    /// Links in use (informational: readers stop at the first padding).
    pub count: U16,
    pub flags: U16,
}

/// Head of an upper-level record (level l >= 1, group g: the node of level
/// >= l among slots `g*M^l .. (g+1)*M^l`); `M` links follow.
#[derive(FromBytes, IntoBytes, KnownLayout, Immutable, Clone, Debug)]
#[repr(C)]
pub struct GraphUpperHead {
    pub tag: U32,
}

pub const GRAPH_ROW_HEAD: usize = core::mem::size_of::<GraphRowHead>();
pub const GRAPH_UPPER_HEAD: usize = core::mem::size_of::<GraphUpperHead>();
/// Most levels a graph has (the algorithm's `MAX_LEVEL`).
pub const GRAPH_MAX_LEVEL: u32 = 24;

/// Where the graph rows of a vector area go: all arithmetic, no state.
/// Level 0 first (one row per slot), then one area per level `1..=top`
/// (one record per group of `M^l` slots), each rounded up to blocks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GraphLayout {
    pub m: u32,
    pub capacity: u32,
    /// Highest level (`graph_top_level`).
    pub top: u32,
    pub row_size: usize,
    pub rows_per_block: u64,
    pub upper_size: usize,
    pub uppers_per_block: u64,
    /// Blocks of all areas together.
    pub blocks: u64,
}

/// The highest level a graph of `capacity` slots uses: the first whose
/// single group covers every slot (at most one node reaches it).
pub fn graph_top_level(m: u32, capacity: u32) -> u32 {
    let m = u64::from(m.clamp(VEC_MIN_M, VEC_MAX_M));
    let mut span = 1u64;
    let mut level = 0;
    while span < u64::from(capacity) && level < GRAPH_MAX_LEVEL {
        span = span.saturating_mul(m);
        level += 1;
    }
    level
}

impl GraphLayout {
    pub fn new(m: u32, capacity: u32) -> Self {
        let m = m.clamp(VEC_MIN_M, VEC_MAX_M);
        let payload = (BLOCK_SIZE - HEADER_SIZE) as u64;
        let row_size = GRAPH_ROW_HEAD + 8 * m as usize;
        let upper_size = GRAPH_UPPER_HEAD + 4 * m as usize;
        let mut g = GraphLayout {
            m,
            capacity,
            top: graph_top_level(m, capacity),
            row_size,
            rows_per_block: (payload / row_size as u64).max(1),
            upper_size,
            uppers_per_block: (payload / upper_size as u64).max(1),
            blocks: 0,
        };
        g.blocks = g.area_start(g.top + 1);
        g
    }

    /// Records (groups) at `level` (slots at level 0).
    pub fn records(&self, level: u32) -> u64 {
        let span = u64::from(self.m).saturating_pow(level);
        u64::from(self.capacity).div_ceil(span.max(1))
    }

    fn area_blocks(&self, level: u32) -> u64 {
        let per = if level == 0 {
            self.rows_per_block
        } else {
            self.uppers_per_block
        };
        self.records(level).div_ceil(per)
    }

    /// First block (relative to the graph area) of level `level`'s area.
    pub fn area_start(&self, level: u32) -> u64 {
        (0..level.min(self.top + 1))
            .map(|l| self.area_blocks(l))
            .sum()
    }

    /// Where record `rec` of `level` is: (block relative to the graph area,
    /// byte offset in it). None past the level's records.
    pub fn locate(&self, level: u32, rec: u64) -> Option<(u64, usize)> {
        if level > self.top || rec >= self.records(level) {
            return None;
        }
        let (per, size) = if level == 0 {
            (self.rows_per_block, self.row_size)
        } else {
            (self.uppers_per_block, self.upper_size)
        };
        let blk = self.area_start(level) + rec / per;
        Some((blk, HEADER_SIZE + (rec % per) as usize * size))
    }

    /// The level and first record of graph block `blk` (relative).
    pub fn block_level(&self, blk: u64) -> Option<(u32, u64)> {
        let mut start = 0;
        for l in 0..=self.top {
            let n = self.area_blocks(l);
            if blk < start + n {
                let per = if l == 0 {
                    self.rows_per_block
                } else {
                    self.uppers_per_block
                };
                return Some((l, (blk - start) * per));
            }
            start += n;
        }
        None
    }
}

pub const VEC_SLOT_HEAD: usize = core::mem::size_of::<VecSlotHead>();
/// Largest dimension: one slot must fit in a slot block.
pub const VEC_MAX_DIM: u32 = ((BLOCK_SIZE - HEADER_SIZE - VEC_SLOT_HEAD) / 4) as u32;
/// Largest search breadth (`hnsw_ef_search`, a query's `ef`): a query's
/// memory and time grow with it (VEXFS_MAX_EF in the uapi header).
pub const VEC_MAX_EF: u32 = 8192;
/// Largest construction breadth (`hnsw_ef_construction`).
pub const VEC_MAX_EF_CONSTRUCTION: u32 = 4096;
/// HNSW links per node (`hnsw_m`).
pub const VEC_MIN_M: u32 = 2;
pub const VEC_MAX_M: u32 = 128;

/// Fixed part of a directory entry; the name follows, the whole record is
/// padded to 8 bytes. `ino == 0` marks free space.
#[derive(FromBytes, IntoBytes, KnownLayout, Immutable, Clone, Debug)]
#[repr(C)]
pub struct DirEntryHead {
    pub ino: U64,
    pub rec_len: U16,
    pub name_len: u8,
    pub file_type: u8,
}

pub const DIRENT_HEAD: usize = core::mem::size_of::<DirEntryHead>();

/// Record length needed for a name of `len` bytes.
pub fn dirent_size(len: usize) -> usize {
    (DIRENT_HEAD + len + 7) & !7
}

/// Directory index block (root or interior), after the `BlockHeader`: a
/// free `DirEntryHead` covering the whole block (so that a linear reader
/// sees a directory block without entries), 4 bytes of zeros, this head,
/// then `count` `DxEntry`s. Magic `BLOCK_MAGIC_DIR`, like every directory
/// block; the head's own magic tells index blocks from leaves.
#[derive(FromBytes, IntoBytes, KnownLayout, Immutable, Clone, Debug)]
#[repr(C)]
pub struct DxHead {
    pub magic: U32,
    /// `DX_HASH_SIPHASH` (root: the directory's; interior: the same).
    pub hash_version: u8,
    /// Height: 0 when the entries name leaves, else index blocks one lower.
    pub level: u8,
    pub pad: U16,
    pub count: U16,
    /// Always `DX_LIMIT`.
    pub limit: U16,
    pub pad2: U32,
}

/// One index entry: leaves (or lower index blocks) hold names whose major
/// hash is at least `hash & !1`, up to the next entry's. Bit 0 set means
/// "continued": the previous child ends with names of the same major hash
/// (a leaf split inside a run of equal hashes), so a lookup goes on into
/// this child. `block` is a file block of the directory.
#[derive(
    FromBytes, IntoBytes, KnownLayout, Immutable, Clone, Copy, Debug, Default, PartialEq, Eq,
)]
#[repr(C)]
pub struct DxEntry {
    pub hash: U32,
    pub block: U32,
}

pub const DX_FAKE_OFF: usize = HEADER_SIZE;
pub const DX_HEAD_OFF: usize = HEADER_SIZE + 16;
pub const DX_ENTRIES_OFF: usize = DX_HEAD_OFF + core::mem::size_of::<DxHead>();
pub const DX_ENTRY_SIZE: usize = core::mem::size_of::<DxEntry>();
pub const DX_LIMIT: usize = (BLOCK_SIZE - DX_ENTRIES_OFF) / DX_ENTRY_SIZE;
/// "IXDV".
pub const DX_MAGIC: u32 = 0x5644_5849;
/// Highest root level: root, two interior levels, leaves: 504^3 leaves.
pub const DX_MAX_LEVEL: u8 = 2;
/// SipHash-2-4 of the name keyed by the filesystem UUID (see `dir_hash`).
pub const DX_HASH_SIPHASH: u8 = 1;
const _: () = assert!(DX_LIMIT == 504);

fn sip_round(v: &mut [u64; 4]) {
    v[0] = v[0].wrapping_add(v[1]);
    v[1] = v[1].rotate_left(13) ^ v[0];
    v[0] = v[0].rotate_left(32);
    v[2] = v[2].wrapping_add(v[3]);
    v[3] = v[3].rotate_left(16) ^ v[2];
    v[0] = v[0].wrapping_add(v[3]);
    v[3] = v[3].rotate_left(21) ^ v[0];
    v[2] = v[2].wrapping_add(v[1]);
    v[1] = v[1].rotate_left(17) ^ v[2];
    v[2] = v[2].rotate_left(32);
}

/// SipHash-2-4 of `data` under the 128-bit `key`.
pub fn siphash24(key: &[u8; 16], data: &[u8]) -> u64 {
    let mut k0 = [0u8; 8];
    let mut k1 = [0u8; 8];
    k0.copy_from_slice(&key[..8]);
    k1.copy_from_slice(&key[8..]);
    let (k0, k1) = (u64::from_le_bytes(k0), u64::from_le_bytes(k1));
    let mut v = [
        k0 ^ 0x736f_6d65_7073_6575,
        k1 ^ 0x646f_7261_6e64_6f6d,
        k0 ^ 0x6c79_6765_6e65_7261,
        k1 ^ 0x7465_6462_7974_6573,
    ];
    let mut chunks = data.chunks_exact(8);
    for c in &mut chunks {
        let mut w = [0u8; 8];
        w.copy_from_slice(c);
        let m = u64::from_le_bytes(w);
        v[3] ^= m;
        sip_round(&mut v);
        sip_round(&mut v);
        v[0] ^= m;
    }
    let mut last = [0u8; 8];
    let rest = chunks.remainder();
    for (d, &b) in last.iter_mut().zip(rest) {
        *d = b;
    }
    let m = u64::from_le_bytes(last) | ((data.len() as u64 & 0xff) << 56);
    v[3] ^= m;
    sip_round(&mut v);
    sip_round(&mut v);
    v[0] ^= m;
    v[2] ^= 0xff;
    for _ in 0..4 {
        sip_round(&mut v);
    }
    v[0] ^ v[1] ^ v[2] ^ v[3]
}

/// A name's directory hash: (major, minor). Major is the high 32 bits of
/// SipHash-2-4 keyed by the filesystem UUID, with bit 0 cleared (the index
/// uses it as the continuation bit): 31 significant bits, as ext4's.
/// Minor is the low 32 bits. Keyed per filesystem so that names cannot be
/// chosen to collide without knowing the UUID.
pub fn dir_hash(seed: &[u8; 16], name: &[u8]) -> (u32, u32) {
    split_hash(siphash24(seed, name))
}

/// (major, minor) of a 64-bit hash value.
pub fn split_hash(h: u64) -> (u32, u32) {
    (((h >> 32) as u32) & !1, h as u32)
}

/// The readdir cookie of a hash: the 31 bits of the major hash, then the
/// high 31 bits of the minor: 62 bits, increasing with (major, minor).
pub fn hash_cookie(major: u32, minor: u32) -> u64 {
    (u64::from(major >> 1) << 31) | u64::from(minor >> 1)
}

/// The major hash of a cookie.
pub fn cookie_major(cookie: u64) -> u32 {
    ((cookie >> 31) as u32) << 1
}

/// Largest cookie plus one: the end of every directory.
pub const COOKIE_END: u64 = 1 << 62;

/// `DiskInode::parent_pos` with this bit set: the low 62 bits are the
/// hinted link's name's cookie (found through the index, or in the one
/// block of a small directory). Without it: a byte offset plus one
/// (images made before the index).
pub const PARENT_POS_HASH: u64 = 1 << 63;

/// File types stored in directory entries (the DT_* values).
pub const DT_UNKNOWN: u8 = 0;
pub const DT_FIFO: u8 = 1;
pub const DT_CHR: u8 = 2;
pub const DT_DIR: u8 = 4;
pub const DT_BLK: u8 = 6;
pub const DT_REG: u8 = 8;
pub const DT_LNK: u8 = 10;
pub const DT_SOCK: u8 = 12;

pub const S_IFMT: u32 = 0o170000;
pub const S_IFSOCK: u32 = 0o140000;
pub const S_IFLNK: u32 = 0o120000;
pub const S_IFREG: u32 = 0o100000;
pub const S_IFBLK: u32 = 0o060000;
pub const S_IFDIR: u32 = 0o040000;
pub const S_IFCHR: u32 = 0o020000;
pub const S_IFIFO: u32 = 0o010000;

pub fn dt_from_mode(mode: u32) -> u8 {
    match mode & S_IFMT {
        S_IFREG => DT_REG,
        S_IFDIR => DT_DIR,
        S_IFLNK => DT_LNK,
        S_IFIFO => DT_FIFO,
        S_IFSOCK => DT_SOCK,
        S_IFCHR => DT_CHR,
        S_IFBLK => DT_BLK,
        _ => DT_UNKNOWN,
    }
}

pub fn valid_file_type(mode: u32) -> bool {
    dt_from_mode(mode) != DT_UNKNOWN
}

impl Superblock {
    pub fn compute_checksum(&self) -> u32 {
        let bytes = self.as_bytes();
        crc32c(&[bytes.get(..SUPERBLOCK_SIZE - 8).unwrap_or(&[])])
    }

    pub fn seal(&mut self) {
        self.checksum = U32::new(self.compute_checksum());
    }

    /// Decode block 0, checking the magic, checksum and that the layout
    /// fits on a device of `dev_blocks` blocks.
    pub fn decode(
        buf: &[u8; BLOCK_SIZE],
        dev_blocks: u64,
    ) -> core::result::Result<Self, &'static str> {
        let (sb, _) =
            Superblock::read_from_prefix(buf.as_slice()).map_err(|_| "short superblock")?;
        if sb.magic.get() != MAGIC {
            return Err("bad magic: not a vexfs filesystem");
        }
        if sb.checksum.get() != sb.compute_checksum() {
            return Err("superblock checksum mismatch");
        }
        if sb.version_major.get() != VERSION_MAJOR {
            return Err("unsupported format version");
        }
        if sb.block_size.get() as usize != BLOCK_SIZE {
            return Err("unsupported block size");
        }
        sb.check_layout(dev_blocks)?;
        Ok(sb)
    }

    /// The regions must be in order, non-overlapping, big enough for the
    /// counts, and inside the device.
    pub fn check_layout(&self, dev_blocks: u64) -> core::result::Result<(), &'static str> {
        let bc = self.block_count.get();
        if bc > dev_blocks {
            return Err("filesystem is larger than the device");
        }
        let ic = self.inode_count.get();
        if ic == 0 || bc < 16 {
            return Err("inode or block count is zero");
        }
        let regions = [
            (
                self.inode_bitmap_start.get(),
                self.inode_bitmap_blocks.get(),
            ),
            (
                self.block_bitmap_start.get(),
                self.block_bitmap_blocks.get(),
            ),
            (self.inode_table_start.get(), self.inode_table_blocks.get()),
            (self.journal_start.get(), self.journal_blocks.get()),
            (self.vector_start.get(), self.vector_blocks.get()),
        ];
        let mut next = 1u64;
        for (start, len) in regions {
            if start != next {
                return Err("metadata regions out of order");
            }
            next = start.checked_add(len).ok_or("region overflows")?;
        }
        if self.data_start.get() != next || next >= bc {
            return Err("data region misplaced");
        }
        if self.inode_bitmap_blocks.get() != ic.div_ceil(BITS_PER_BITMAP_BLOCK)
            || self.block_bitmap_blocks.get() != bc.div_ceil(BITS_PER_BITMAP_BLOCK)
            || self.inode_table_blocks.get() != ic.div_ceil(INODES_PER_BLOCK)
        {
            return Err("region sizes do not match counts");
        }
        if self.free_blocks.get() > bc || self.free_inodes.get() > ic {
            return Err("free counts exceed totals");
        }
        self.check_vector_space()?;
        let root = self.root_ino.get();
        if root == 0 || root > ic {
            return Err("bad root inode number");
        }
        Ok(())
    }

    fn check_vector_space(&self) -> core::result::Result<(), &'static str> {
        let dim = self.vec_dim.get();
        if dim == 0 {
            return if self.vec_count.get() == 0 && self.vec_capacity.get() == 0 {
                Ok(())
            } else {
                Err("vectors without a vector space")
            };
        }
        let slot = VEC_SLOT_HEAD as u64 + 4 * u64::from(dim);
        let per_block = (BLOCK_SIZE - HEADER_SIZE) as u64 / slot;
        if dim > VEC_MAX_DIM
            || !(1..=3).contains(&self.vec_metric.get())
            || u64::from(self.vec_slot_size.get()) != slot
            || u64::from(self.vec_slots_per_block.get()) != per_block
            || self.vec_slot_blocks.get() > self.vector_blocks.get()
            || self.vec_capacity.get() > self.vec_slot_blocks.get().saturating_mul(per_block)
            || self.vec_capacity.get() > u64::from(u32::MAX)
            || self.vec_count.get() > self.vec_capacity.get()
            || self.vec_slot_blocks_inited.get() > self.vec_slot_blocks.get()
            || !(VEC_MIN_M..=VEC_MAX_M).contains(&self.hnsw_m.get())
            || !(1..=VEC_MAX_EF_CONSTRUCTION).contains(&self.hnsw_ef_construction.get())
            || !(1..=VEC_MAX_EF).contains(&self.hnsw_ef_search.get())
        {
            return Err("bad vector space parameters");
        }
        if self.feature_ro_compat.get() & FEATURE_RO_COMPAT_VEC_ROWS != 0 {
            let lay = GraphLayout::new(self.hnsw_m.get(), self.vec_capacity.get() as u32);
            if lay.blocks > self.vector_blocks.get() - self.vec_slot_blocks.get() {
                return Err("vector graph area too small for its rows");
            }
        }
        Ok(())
    }

    /// A 32-bit tag of this filesystem (crc32c of its UUID), stamped in its inodes.
    pub fn fs_tag(&self) -> u32 {
        crc32c(&[&self.uuid])
    }

    pub fn label_str(&self) -> &str {
        let end = self.label.iter().position(|&b| b == 0).unwrap_or(LABEL_LEN);
        core::str::from_utf8(self.label.get(..end).unwrap_or(&[])).unwrap_or("")
    }
}

impl BlockHeader {
    pub fn new(magic: u32, blocknr: u64, owner: u64) -> Self {
        BlockHeader {
            magic: U32::new(magic),
            checksum: U32::new(0),
            blocknr: U64::new(blocknr),
            owner: U64::new(owner),
            count: U32::new(0),
            level: U16::new(0),
            pad: U16::new(0),
        }
    }
}

/// Checksum a metadata block in place (header must already be written).
pub fn seal_block(buf: &mut [u8; BLOCK_SIZE]) {
    buf[4..8].copy_from_slice(&[0; 4]);
    let c = crc32c(&[buf.as_slice()]);
    buf[4..8].copy_from_slice(&c.to_le_bytes());
}

/// Validate a metadata block read from `blocknr`: magic, location, owner and checksum.
pub fn verify_block(
    buf: &[u8; BLOCK_SIZE],
    magic: u32,
    blocknr: u64,
    owner: Option<u64>,
) -> core::result::Result<BlockHeader, &'static str> {
    let (h, _) = BlockHeader::read_from_prefix(buf.as_slice()).map_err(|_| "short block")?;
    if h.magic.get() != magic {
        return Err("bad block magic");
    }
    if h.blocknr.get() != blocknr {
        return Err("block number mismatch (misdirected write)");
    }
    if let Some(o) = owner {
        if h.owner.get() != o {
            return Err("block owner mismatch");
        }
    }
    let mut copy = [0u8; 4];
    copy.copy_from_slice(&buf[4..8]);
    let stored = u32::from_le_bytes(copy);
    let c = CRC32C.digest();
    let mut d = c;
    d.update(&buf[..4]);
    d.update(&[0; 4]);
    d.update(&buf[8..]);
    if d.finalize() != stored {
        return Err("block checksum mismatch");
    }
    Ok(h)
}

impl DiskInode {
    pub fn compute_checksum(&self, ino: u64) -> u32 {
        let b = self.as_bytes();
        crc32c(&[&ino.to_le_bytes(), b.get(..INODE_SIZE - 4).unwrap_or(&[])])
    }
    pub fn seal(&mut self, ino: u64) {
        self.checksum = U32::new(self.compute_checksum(ino));
    }
}

/// Where inode `ino` lives: (block, byte offset in block).
pub fn inode_location(sb: &Superblock, ino: u64) -> Result<(u64, usize)> {
    if ino == 0 || ino > sb.inode_count.get() {
        return Err(Errno::EUCLEAN);
    }
    let idx = ino - 1;
    let blk = sb.inode_table_start.get() + idx / INODES_PER_BLOCK;
    let off = (idx % INODES_PER_BLOCK) as usize * INODE_SIZE;
    Ok((blk, off))
}
