//! Reading vectors from files, streamed: nothing holds more than the vectors
//! asked for at once (plus a read buffer).
//!
//! Formats (chosen by extension, or explicitly):
//! - `.f32`: raw little-endian float32, vector after vector; the dimension is
//!   not in the file and must be given.
//! - `.fvecs`: per vector a little-endian int32 dimension then that many
//!   float32; every vector must have the same dimension.
//! - `.npy`: NumPy format versions 1, 2 and 3; dtype `<f4` (or `<f8`,
//!   converted to float32); shape `(count, dim)` or `(dim,)` (one vector); C
//!   order (a 2-D array in Fortran order is refused).
//! - `.json`: an array of numbers (one vector) or an array of arrays of
//!   numbers. Read twice: once to check it and count the vectors, once to
//!   stream them.
//!
//! Every read is bounds-checked; a truncated or malformed file is an error
//! that says where and what.

use std::fmt;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::Path;

/// A vector file format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Raw little-endian float32 (needs the dimension).
    F32,
    /// int32 dimension + float32 values, per vector.
    Fvecs,
    /// NumPy .npy, float32 or float64, shape (n, d) or (d,).
    Npy,
    /// [x, y, ...] or [[x, y, ...], ...].
    Json,
}

impl Format {
    /// The format a file's extension names.
    pub fn from_path(path: &Path) -> Option<Format> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        match ext.as_str() {
            "f32" => Some(Format::F32),
            "fvecs" => Some(Format::Fvecs),
            "npy" => Some(Format::Npy),
            "json" => Some(Format::Json),
            _ => None,
        }
    }
}

/// Why a vector file cannot be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error(pub String);

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

pub type Result<T> = std::result::Result<T, Error>;

fn err<T>(msg: impl Into<String>) -> Result<T> {
    Err(Error(msg.into()))
}

fn io_err(e: io::Error) -> Error {
    let s = e.to_string();
    let s = match s.rfind(" (os error ") {
        Some(i) => s.get(..i).unwrap_or(&s).to_string(),
        None => s,
    };
    Error(s)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Elem {
    F32,
    F64,
}

impl Elem {
    fn bytes(self) -> usize {
        match self {
            Elem::F32 => 4,
            Elem::F64 => 8,
        }
    }
}

enum Kind {
    /// Fixed-size records from `data_start`: an int32 dimension first when
    /// `fvecs`, then `dim` elements.
    Records {
        data_start: u64,
        elem: Elem,
        fvecs: bool,
    },
    /// JSON, streamed by a lexer; `nested` is an array of arrays.
    Json { nested: bool, lex: Lexer },
}

/// Streams the vectors of one file.
pub struct VecReader {
    file: BufReader<File>,
    dim: usize,
    len: u64,
    pos: u64,
    kind: Kind,
    scratch: Vec<u8>,
}

/// `dim` is needed for `.f32`; for the other formats it is checked against
/// the file's when given.
impl VecReader {
    /// Opens `path` as `format` (by default from the extension).
    pub fn open(path: &Path, format: Option<Format>, dim: Option<usize>) -> Result<VecReader> {
        let format = match format.or_else(|| Format::from_path(path)) {
            Some(f) => f,
            None => {
                return err(
                    "cannot tell the vector format from the file name (.f32, .fvecs, .npy, .json): use --input-format",
                )
            }
        };
        let file = File::open(path).map_err(io_err)?;
        let size = file.metadata().map_err(io_err)?.len();
        let mut r = VecReader {
            file: BufReader::with_capacity(1 << 16, file),
            dim: 0,
            len: 0,
            pos: 0,
            kind: Kind::Records {
                data_start: 0,
                elem: Elem::F32,
                fvecs: false,
            },
            scratch: Vec::new(),
        };
        match format {
            Format::F32 => r.open_f32(size, dim)?,
            Format::Fvecs => r.open_fvecs(size)?,
            Format::Npy => r.open_npy(size)?,
            Format::Json => r.open_json()?,
        }
        if let Some(want) = dim {
            if format != Format::F32 && r.len > 0 && r.dim != want {
                return err(format!(
                    "vectors have {} dimensions, {} were asked for",
                    r.dim, want
                ));
            }
        }
        Ok(r)
    }

    fn open_f32(&mut self, size: u64, dim: Option<usize>) -> Result<()> {
        let dim = match dim {
            Some(d) if d > 0 => d,
            Some(_) => return err("the dimension must be at least 1"),
            None => return err("a .f32 file does not say its dimension: give --dim"),
        };
        let rec = (dim as u64).saturating_mul(4);
        if !size.is_multiple_of(rec) {
            return err(format!(
                "{} bytes is not a whole number of {}-dimensional float32 vectors ({} bytes each): truncated, or not {}-dimensional",
                size, dim, rec, dim
            ));
        }
        self.dim = dim;
        self.len = size / rec;
        Ok(())
    }

    fn open_fvecs(&mut self, size: u64) -> Result<()> {
        if size == 0 {
            return Ok(());
        }
        let mut head = [0u8; 4];
        read_exact_at(&mut self.file, &mut head, 0)?;
        let d = i32::from_le_bytes(head);
        if d <= 0 {
            return err(format!(
                "vector 0 declares dimension {}: not an .fvecs file?",
                d
            ));
        }
        let d = d as u64;
        let rec = 4 + 4 * d;
        if !size.is_multiple_of(rec) {
            return err(format!(
                "{} bytes is not a whole number of {}-dimensional .fvecs records ({} bytes each): truncated after vector {}",
                size,
                d,
                rec,
                size / rec
            ));
        }
        self.dim = d as usize;
        self.len = size / rec;
        self.kind = Kind::Records {
            data_start: 0,
            elem: Elem::F32,
            fvecs: true,
        };
        self.file.seek(SeekFrom::Start(0)).map_err(io_err)?;
        Ok(())
    }

    fn open_npy(&mut self, size: u64) -> Result<()> {
        let (hdr, data_start) = read_npy_header(&mut self.file, size)?;
        let elem = match hdr.descr.as_str() {
            "<f4" => Elem::F32,
            "<f8" => Elem::F64,
            ">f4" | ">f8" => {
                return err(format!(
                    "big-endian dtype '{}' is not supported: save a.astype('<f4')",
                    hdr.descr
                ))
            }
            d => {
                return err(format!(
                    "dtype '{}' is not supported: float32 ('<f4') and float64 ('<f8') are",
                    d
                ))
            }
        };
        let (n, d) = match hdr.shape.as_slice() {
            [d] => (1, *d),
            [n, d] => (*n, *d),
            s => return err(format!("shape {:?} is neither (count, dim) nor (dim,)", s)),
        };
        if hdr.fortran_order && hdr.shape.len() == 2 {
            return err(
                "array is in Fortran order (fortran_order: True): save it in C order, e.g. np.save(f, np.ascontiguousarray(a))",
            );
        }
        if d == 0 {
            return err("vectors of 0 dimensions");
        }
        let want = n
            .checked_mul(d)
            .and_then(|x| x.checked_mul(elem.bytes() as u64));
        let have = size - data_start;
        if want != Some(have) {
            return err(format!(
                "shape ({}, {}) of {} needs {} bytes of data but the file holds {}: {}",
                n,
                d,
                hdr.descr,
                want.map_or_else(|| "too many".to_string(), |w| w.to_string()),
                have,
                if want.is_some_and(|w| w > have) {
                    "truncated"
                } else {
                    "trailing bytes"
                }
            ));
        }
        self.dim = usize::try_from(d).map_err(|_| Error("dimension too large".into()))?;
        self.len = n;
        self.kind = Kind::Records {
            data_start,
            elem,
            fvecs: false,
        };
        Ok(())
    }

    fn open_json(&mut self) -> Result<()> {
        // First pass: check everything, count the vectors.
        self.file.seek(SeekFrom::Start(0)).map_err(io_err)?;
        let mut lex = Lexer::default();
        let nested = lex.begin(&mut self.file)?;
        let mut dim = None;
        let mut len = 0u64;
        let mut buf = Vec::new();
        if nested {
            while lex.next_vector(&mut self.file, &mut buf, dim)? {
                if dim.is_none() {
                    dim = Some(buf.len());
                }
                buf.clear();
                len += 1;
            }
        } else {
            lex.array(&mut self.file, &mut buf)?;
            lex.end(&mut self.file)?;
            if !buf.is_empty() {
                dim = Some(buf.len());
                len = 1;
            }
        }
        self.dim = dim.unwrap_or(0);
        self.len = len;
        self.rewind_json(nested)
    }

    fn rewind_json(&mut self, nested: bool) -> Result<()> {
        self.file.seek(SeekFrom::Start(0)).map_err(io_err)?;
        let mut lex = Lexer::default();
        lex.begin(&mut self.file)?;
        self.kind = Kind::Json { nested, lex };
        self.pos = 0;
        Ok(())
    }

    /// Floats per vector (0 when the file holds no vector).
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// Vectors in the file.
    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Index of the next vector `read` returns.
    pub fn position(&self) -> u64 {
        self.pos
    }

    /// Appends the next vector to `out`; false at the end.
    pub fn read_into(&mut self, out: &mut Vec<f32>) -> Result<bool> {
        if self.pos >= self.len {
            return Ok(false);
        }
        let i = self.pos;
        let dim = self.dim;
        match &mut self.kind {
            Kind::Records { elem, fvecs, .. } => {
                let (elem, fvecs) = (*elem, *fvecs);
                let rec = dim * elem.bytes() + if fvecs { 4 } else { 0 };
                self.scratch.resize(rec, 0);
                self.file.read_exact(&mut self.scratch).map_err(|e| {
                    if e.kind() == io::ErrorKind::UnexpectedEof {
                        Error(format!("truncated in vector {}", i))
                    } else {
                        io_err(e)
                    }
                })?;
                let mut data = self.scratch.as_slice();
                if fvecs {
                    let (h, rest) = data.split_at(4.min(data.len()));
                    let d = i32::from_le_bytes(h.try_into().unwrap_or([0; 4]));
                    if i64::from(d) != dim as i64 {
                        return err(format!(
                            "vector {} declares dimension {}, vector 0 declared {}: all vectors of an .fvecs file must have one dimension",
                            i, d, dim
                        ));
                    }
                    data = rest;
                }
                out.reserve(dim);
                match elem {
                    Elem::F32 => out.extend(
                        data.chunks_exact(4)
                            .map(|c| f32::from_le_bytes(c.try_into().unwrap_or([0; 4]))),
                    ),
                    Elem::F64 => out.extend(
                        data.chunks_exact(8)
                            .map(|c| f64::from_le_bytes(c.try_into().unwrap_or([0; 8])) as f32),
                    ),
                }
            }
            Kind::Json { nested, lex } => {
                let before = out.len();
                if *nested {
                    let mut v = Vec::with_capacity(dim);
                    if !lex.next_vector(&mut self.file, &mut v, Some(dim))? {
                        return err(format!("vector {} vanished (file changed?)", i));
                    }
                    out.extend_from_slice(&v);
                } else {
                    lex.array(&mut self.file, out)?;
                }
                if out.len() - before != dim {
                    return err(format!("vector {} changed (file changed?)", i));
                }
            }
        }
        self.pos += 1;
        Ok(true)
    }

    /// Up to `n` next vectors, replacing `out`'s contents (`dim` floats
    /// each); how many were read (0 at the end).
    pub fn read_batch(&mut self, n: usize, out: &mut Vec<f32>) -> Result<usize> {
        out.clear();
        let mut got = 0;
        while got < n && self.read_into(out)? {
            got += 1;
        }
        Ok(got)
    }

    /// The `index`-th vector (from 0); the next `read_into` reads the one after.
    pub fn nth(&mut self, index: u64) -> Result<Vec<f32>> {
        if index >= self.len {
            return err(format!(
                "has {} vector{}: there is no vector {}",
                self.len,
                if self.len == 1 { "" } else { "s" },
                index
            ));
        }
        match &self.kind {
            Kind::Records {
                data_start,
                elem,
                fvecs,
            } => {
                let rec = self.dim as u64 * elem.bytes() as u64 + if *fvecs { 4 } else { 0 };
                let off = data_start + index * rec;
                self.file.seek(SeekFrom::Start(off)).map_err(io_err)?;
                self.pos = index;
            }
            Kind::Json { nested, .. } => {
                if index < self.pos || self.pos == 0 {
                    let nested = *nested;
                    self.rewind_json(nested)?;
                }
                let mut skip = Vec::new();
                while self.pos < index {
                    skip.clear();
                    self.read_into(&mut skip)?;
                }
            }
        }
        let mut v = Vec::with_capacity(self.dim);
        self.read_into(&mut v)?;
        Ok(v)
    }
}

/// Reads the `index`-th vector of `path`.
pub fn read_one(
    path: &Path,
    format: Option<Format>,
    dim: Option<usize>,
    index: u64,
) -> Result<Vec<f32>> {
    VecReader::open(path, format, dim)?.nth(index)
}

fn read_exact_at(f: &mut BufReader<File>, buf: &mut [u8], off: u64) -> Result<()> {
    f.seek(SeekFrom::Start(off)).map_err(io_err)?;
    f.read_exact(buf).map_err(|e| {
        if e.kind() == io::ErrorKind::UnexpectedEof {
            Error(format!("truncated at byte {}", off))
        } else {
            io_err(e)
        }
    })
}

/// The header of the .npy file `file` (of `size` bytes) and where its data starts.
fn read_npy_header(file: &mut BufReader<File>, size: u64) -> Result<(NpyHeader, u64)> {
    let mut pre = [0u8; 8];
    if size < 10 {
        return err(format!(
            "{} bytes is too short for a .npy file (truncated?)",
            size
        ));
    }
    read_exact_at(file, &mut pre, 0)?;
    let (magic, ver) = pre.split_at(6);
    if magic != b"\x93NUMPY" {
        return err("not a .npy file (no \\x93NUMPY magic)");
    }
    let (major, minor) = match ver {
        [a, b] => (*a, *b),
        _ => return err("not a .npy file"),
    };
    let (hlen, hstart): (u64, u64) = match (major, minor) {
        (1, 0) => {
            let mut b = [0u8; 2];
            file.read_exact(&mut b).map_err(io_err)?;
            (u64::from(u16::from_le_bytes(b)), 10)
        }
        (2, 0) | (3, 0) => {
            let mut b = [0u8; 4];
            file.read_exact(&mut b)
                .map_err(|_| Error("truncated .npy header".into()))?;
            (u64::from(u32::from_le_bytes(b)), 12)
        }
        _ => {
            return err(format!(
                "unsupported .npy format version {}.{} (1.0, 2.0 and 3.0 are)",
                major, minor
            ))
        }
    };
    if hlen > 1 << 20 {
        return err(format!(".npy header of {} bytes is implausible", hlen));
    }
    let data_start = hstart + hlen;
    if data_start > size {
        return err(format!(
            ".npy header claims {} bytes but the file ends at {}: truncated",
            hlen, size
        ));
    }
    let mut h = vec![0u8; hlen as usize];
    file.read_exact(&mut h).map_err(io_err)?;
    let text: String = if major == 3 {
        String::from_utf8(h).map_err(|_| Error(".npy header is not UTF-8".into()))?
    } else {
        h.iter().map(|&b| char::from(b)).collect() // latin-1
    };
    Ok((parse_npy_header(&text)?, data_start))
}

/// An integer .npy array of shape (rows, width), little-endian int32,
/// int64, uint32 or uint64 in C order (e.g. ground-truth neighbour ids):
/// its values (each must fit a u32) row after row, and `width`.
pub fn read_npy_ids(path: &Path) -> Result<(Vec<u32>, usize)> {
    let f = File::open(path).map_err(io_err)?;
    let size = f.metadata().map_err(io_err)?.len();
    let mut file = BufReader::new(f);
    let (hdr, data_start) = read_npy_header(&mut file, size)?;
    let (elem, signed) = match hdr.descr.as_str() {
        "<i4" => (4usize, true),
        "<i8" => (8, true),
        "<u4" => (4, false),
        "<u8" => (8, false),
        d => {
            return err(format!(
                "dtype '{}' is not supported for ids: little-endian int32/int64/uint32/uint64 are",
                d
            ))
        }
    };
    let (rows, width) = match hdr.shape.as_slice() {
        [n, w] if *w > 0 => (*n, *w),
        s => return err(format!("shape {:?} is not (rows, width)", s)),
    };
    if hdr.fortran_order {
        return err("array is in Fortran order (fortran_order: True): save it in C order");
    }
    let count = rows
        .checked_mul(width)
        .and_then(|c| usize::try_from(c).ok())
        .ok_or_else(|| Error("array too large".into()))?;
    if count.checked_mul(elem).map(|b| b as u64) != Some(size - data_start) {
        return err(format!(
            "shape ({}, {}) of {} does not match the {} bytes of data",
            rows,
            width,
            hdr.descr,
            size - data_start
        ));
    }
    let mut data = vec![0u8; count * elem];
    file.seek(SeekFrom::Start(data_start)).map_err(io_err)?;
    file.read_exact(&mut data).map_err(io_err)?;
    let mut ids = Vec::with_capacity(count);
    for c in data.chunks_exact(elem) {
        let mut b = [0u8; 8];
        b.get_mut(..elem)
            .ok_or_else(|| Error("bad element".into()))?
            .copy_from_slice(c);
        let v: i128 = match (elem, signed) {
            (4, true) => i32::from_le_bytes([b[0], b[1], b[2], b[3]]).into(),
            (4, false) => u32::from_le_bytes([b[0], b[1], b[2], b[3]]).into(),
            (_, true) => i64::from_le_bytes(b).into(),
            (_, false) => u64::from_le_bytes(b).into(),
        };
        ids.push(u32::try_from(v).map_err(|_| Error(format!("id {} is out of range", v)))?);
    }
    let width = usize::try_from(width).map_err(|_| Error("width too large".into()))?;
    Ok((ids, width))
}

/// The parts of a .npy header dict vexctl needs.
#[derive(Debug, PartialEq, Eq)]
struct NpyHeader {
    descr: String,
    fortran_order: bool,
    shape: Vec<u64>,
}

enum PyVal {
    Str(String),
    Bool(bool),
    Tuple(Vec<u64>),
}

/// Parses the Python dict literal of a .npy header:
/// `{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }`.
fn parse_npy_header(text: &str) -> Result<NpyHeader> {
    let mut p = Py {
        s: text.as_bytes(),
        i: 0,
    };
    let (mut descr, mut fortran, mut shape) = (None, None, None);
    p.ws();
    p.expect(b'{')?;
    loop {
        p.ws();
        if p.eat(b'}') {
            break;
        }
        let key = match p.value()? {
            PyVal::Str(s) => s,
            _ => return p.fail("a string key"),
        };
        p.ws();
        p.expect(b':')?;
        p.ws();
        let v = p.value()?;
        match (key.as_str(), v) {
            ("descr", PyVal::Str(s)) => descr = Some(s),
            ("fortran_order", PyVal::Bool(b)) => fortran = Some(b),
            ("shape", PyVal::Tuple(t)) => shape = Some(t),
            ("descr" | "fortran_order" | "shape", _) => {
                return err(format!(".npy header: '{}' has the wrong type", key))
            }
            _ => {}
        }
        p.ws();
        if !p.eat(b',') {
            p.ws();
            p.expect(b'}')?;
            break;
        }
    }
    p.ws();
    if p.i != p.s.len() {
        return p.fail("the end of the header");
    }
    match (descr, fortran, shape) {
        (Some(descr), Some(fortran_order), Some(shape)) => Ok(NpyHeader {
            descr,
            fortran_order,
            shape,
        }),
        _ => err(".npy header lacks 'descr', 'fortran_order' or 'shape'"),
    }
}

struct Py<'a> {
    s: &'a [u8],
    i: usize,
}

impl Py<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }
    fn ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.i += 1;
        }
    }
    fn eat(&mut self, c: u8) -> bool {
        if self.peek() == Some(c) {
            self.i += 1;
            true
        } else {
            false
        }
    }
    fn fail<T>(&self, want: &str) -> Result<T> {
        let found = match self.peek() {
            Some(c) => format!("'{}'", char::from(c)),
            None => "the end".into(),
        };
        err(format!(
            ".npy header: expected {} at character {}, found {}",
            want, self.i, found
        ))
    }
    fn expect(&mut self, c: u8) -> Result<()> {
        if self.eat(c) {
            Ok(())
        } else {
            self.fail(&format!("'{}'", char::from(c)))
        }
    }
    fn value(&mut self) -> Result<PyVal> {
        match self.peek() {
            Some(q @ (b'\'' | b'"')) => {
                self.i += 1;
                let start = self.i;
                while self.peek().is_some_and(|c| c != q) {
                    if self.peek() == Some(b'\\') {
                        return err(".npy header: escapes in strings are not supported");
                    }
                    self.i += 1;
                }
                let s = self.s.get(start..self.i).unwrap_or_default();
                self.expect(q)?;
                Ok(PyVal::Str(String::from_utf8_lossy(s).into_owned()))
            }
            Some(b'T') if self.s.get(self.i..).is_some_and(|r| r.starts_with(b"True")) => {
                self.i += 4;
                Ok(PyVal::Bool(true))
            }
            Some(b'F')
                if self
                    .s
                    .get(self.i..)
                    .is_some_and(|r| r.starts_with(b"False")) =>
            {
                self.i += 5;
                Ok(PyVal::Bool(false))
            }
            Some(b'(') => {
                self.i += 1;
                let mut t = Vec::new();
                loop {
                    self.ws();
                    if self.eat(b')') {
                        break;
                    }
                    t.push(self.int()?);
                    self.ws();
                    if !self.eat(b',') {
                        self.ws();
                        self.expect(b')')?;
                        break;
                    }
                }
                Ok(PyVal::Tuple(t))
            }
            Some(b'[') => err(".npy header: structured dtypes (a list 'descr') are not supported"),
            _ => self.fail("a string, True, False or a tuple"),
        }
    }
    fn int(&mut self) -> Result<u64> {
        let start = self.i;
        let mut v: u64 = 0;
        while let Some(c @ b'0'..=b'9') = self.peek() {
            v = match v
                .checked_mul(10)
                .and_then(|v| v.checked_add(u64::from(c - b'0')))
            {
                Some(v) => v,
                None => return err(".npy header: a dimension overflows"),
            };
            self.i += 1;
        }
        if self.i == start {
            return self.fail("a dimension");
        }
        self.eat(b'L'); // Python 2 longs
        Ok(v)
    }
}

/// A streaming JSON lexer for arrays of numbers, one byte at a time through
/// a `BufRead`, tracking the offset for errors.
#[derive(Default)]
struct Lexer {
    off: u64,
    first: bool,
    done: bool,
}

const MAX_NUMBER_LEN: usize = 512;

impl Lexer {
    fn peek(&mut self, r: &mut impl BufRead) -> Result<Option<u8>> {
        let buf = r.fill_buf().map_err(io_err)?;
        Ok(buf.first().copied())
    }
    fn bump(&mut self, r: &mut impl BufRead) {
        r.consume(1);
        self.off += 1;
    }
    fn ws(&mut self, r: &mut impl BufRead) -> Result<Option<u8>> {
        loop {
            match self.peek(r)? {
                Some(b' ' | b'\t' | b'\n' | b'\r') => self.bump(r),
                c => return Ok(c),
            }
        }
    }
    fn fail<T>(&self, want: &str, found: Option<u8>) -> Result<T> {
        let found = match found {
            Some(c) if c.is_ascii_graphic() => format!("'{}'", char::from(c)),
            Some(c) => format!("byte 0x{:02x}", c),
            None => "the end of the file".into(),
        };
        err(format!(
            "JSON: expected {} at byte {}, found {}",
            want, self.off, found
        ))
    }
    fn expect(&mut self, r: &mut impl BufRead, c: u8) -> Result<()> {
        match self.ws(r)? {
            Some(x) if x == c => {
                self.bump(r);
                Ok(())
            }
            x => self.fail(&format!("'{}'", char::from(c)), x),
        }
    }
    /// Reads the opening '['; true for an array of arrays. An empty array
    /// `[]` is an empty list of vectors.
    fn begin(&mut self, r: &mut impl BufRead) -> Result<bool> {
        self.expect(r, b'[')?;
        self.first = true;
        match self.ws(r)? {
            Some(b'[') => Ok(true),
            Some(b']') => Ok(true),
            _ => Ok(false),
        }
    }
    /// After a flat array: only whitespace may follow.
    fn end(&mut self, r: &mut impl BufRead) -> Result<()> {
        match self.ws(r)? {
            None => Ok(()),
            c => self.fail("the end of the file", c),
        }
    }
    /// Next inner array of an array of arrays, into `out`; false after the
    /// closing ']'. Every vector must have `dim` numbers when given.
    fn next_vector(
        &mut self,
        r: &mut impl BufRead,
        out: &mut Vec<f32>,
        dim: Option<usize>,
    ) -> Result<bool> {
        if self.done {
            return Ok(false);
        }
        let c = self.ws(r)?;
        if c == Some(b']') {
            self.bump(r);
            self.done = true;
            self.end(r)?;
            return Ok(false);
        }
        if !self.first {
            if c != Some(b',') {
                return self.fail("',' or ']'", c);
            }
            self.bump(r);
        }
        self.first = false;
        let start = self.off;
        let before = out.len();
        self.array_body(r, out, dim, true)?;
        if out.len() == before {
            return err(format!("JSON: empty vector at byte {}", start));
        }
        Ok(true)
    }
    /// The rest of a flat array of numbers (its '[' read by `begin`) into `out`.
    fn array(&mut self, r: &mut impl BufRead, out: &mut Vec<f32>) -> Result<()> {
        self.array_body(r, out, None, false)
    }
    fn array_body(
        &mut self,
        r: &mut impl BufRead,
        out: &mut Vec<f32>,
        dim: Option<usize>,
        open: bool,
    ) -> Result<()> {
        let start = self.off;
        if open {
            self.expect(r, b'[')?;
        }
        let before = out.len();
        let mut first = true;
        loop {
            let c = self.ws(r)?;
            if c == Some(b']') {
                self.bump(r);
                break;
            }
            if !first {
                if c != Some(b',') {
                    return self.fail("',' or ']'", c);
                }
                self.bump(r);
            }
            first = false;
            let x = self.number(r)?;
            if let Some(d) = dim {
                if out.len() - before >= d {
                    return err(format!(
                        "JSON: the vector at byte {} has more than {} numbers (the first vector's dimension)",
                        start, d
                    ));
                }
            }
            out.push(x);
        }
        if let Some(d) = dim {
            let n = out.len() - before;
            if n != d {
                return err(format!(
                    "JSON: the vector at byte {} has {} numbers, the first one {}",
                    start, n, d
                ));
            }
        }
        Ok(())
    }
    fn number(&mut self, r: &mut impl BufRead) -> Result<f32> {
        let c = self.ws(r)?;
        let start = self.off;
        let mut tok = Vec::new();
        while let Some(c @ (b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E')) = self.peek(r)? {
            if tok.len() >= MAX_NUMBER_LEN {
                return err(format!("JSON: number at byte {} is too long", start));
            }
            tok.push(c);
            self.bump(r);
        }
        if tok.is_empty() {
            return self.fail("a number", c);
        }
        let s = String::from_utf8_lossy(&tok);
        if !valid_json_number(&tok) {
            return err(format!("JSON: '{}' at byte {} is not a number", s, start));
        }
        let v: f64 = s
            .parse()
            .map_err(|_| Error(format!("JSON: '{}' at byte {} is not a number", s, start)))?;
        let f = v as f32;
        if !f.is_finite() {
            return err(format!(
                "JSON: {} at byte {} is out of float32 range",
                s, start
            ));
        }
        Ok(f)
    }
}

fn valid_json_number(s: &[u8]) -> bool {
    let mut i = 0;
    let at = |i: usize| s.get(i).copied();
    let digits = |mut i: usize| {
        while at(i).is_some_and(|c| c.is_ascii_digit()) {
            i += 1;
        }
        i
    };
    if at(i) == Some(b'-') {
        i += 1;
    }
    match at(i) {
        Some(b'0') => i += 1,
        Some(b'1'..=b'9') => i = digits(i),
        _ => return false,
    }
    if at(i) == Some(b'.') {
        let j = digits(i + 1);
        if j == i + 1 {
            return false;
        }
        i = j;
    }
    if matches!(at(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(at(i), Some(b'+' | b'-')) {
            i += 1;
        }
        let j = digits(i);
        if j == i {
            return false;
        }
        i = j;
    }
    i == s.len()
}

/// Parses a vector from the command line: numbers separated by commas
/// and/or whitespace, optionally in brackets (`get`'s JSON output works).
pub fn parse_vector(s: &str) -> Result<Vec<f32>> {
    let t = s.trim();
    let t = t
        .strip_prefix('[')
        .and_then(|t| t.strip_suffix(']'))
        .unwrap_or(t);
    let mut v = Vec::new();
    for (i, part) in t
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|p| !p.is_empty())
        .enumerate()
    {
        match part.parse::<f32>() {
            Ok(x) => v.push(x),
            Err(_) => return err(format!("element {} ('{}') is not a number", i, part)),
        }
    }
    if v.is_empty() {
        return err("the vector is empty");
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_numbers() {
        for ok in ["0", "-0", "1.5", "-12e3", "1E+2", "0.25e-1"] {
            assert!(valid_json_number(ok.as_bytes()), "{}", ok);
        }
        for bad in ["", "-", "01", "1.", ".5", "1e", "1e+", "+1", "1-2", "--1"] {
            assert!(!valid_json_number(bad.as_bytes()), "{}", bad);
        }
    }

    #[test]
    fn npy_headers() {
        let h = parse_npy_header(
            "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }          \n",
        )
        .unwrap();
        assert_eq!(
            h,
            NpyHeader {
                descr: "<f4".into(),
                fortran_order: false,
                shape: vec![3, 4]
            }
        );
        let h =
            parse_npy_header("{\"shape\":(5L,),\"descr\":\"<f8\",\"fortran_order\":True}").unwrap();
        assert_eq!(h.shape, vec![5]);
        assert!(h.fortran_order);
        assert!(parse_npy_header("{'descr': '<f4', 'shape': (3, 4)}").is_err());
        assert!(
            parse_npy_header("{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4)").is_err()
        );
        assert!(parse_npy_header(
            "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (3,)}"
        )
        .unwrap_err()
        .0
        .contains("structured"));
        assert!(parse_npy_header(
            "{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999999,)}"
        )
        .is_err());
        assert!(parse_npy_header("{'descr': '<f4', 'fortran_order': 0, 'shape': (3,)}").is_err());
    }

    #[test]
    fn command_line_vectors() {
        assert_eq!(parse_vector("0.1,0.2, 3").unwrap(), vec![0.1, 0.2, 3.0]);
        assert_eq!(parse_vector("[1, -2]").unwrap(), vec![1.0, -2.0]);
        assert_eq!(parse_vector("1 2\t3").unwrap(), vec![1.0, 2.0, 3.0]);
        assert!(parse_vector("").is_err());
        assert!(parse_vector("1,x").unwrap_err().0.contains("element 1"));
    }
}
