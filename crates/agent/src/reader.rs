//! Reads /proc files into one reused buffer with a reused path, so the hot path does not allocate.

use std::ffi::OsString;
use std::fs::File;
use std::io::{self, Read};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// Why a file could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadError {
    /// The process (or file) is gone: normal churn.
    Gone,
    /// Permission denied (another user's process).
    Denied,
    /// Any other I/O error.
    Other,
}

impl From<&io::Error> for ReadError {
    fn from(e: &io::Error) -> Self {
        match e.raw_os_error() {
            Some(libc::ENOENT) | Some(libc::ESRCH) | Some(libc::ENOTDIR) => ReadError::Gone,
            Some(libc::EACCES) | Some(libc::EPERM) => ReadError::Denied,
            _ => match e.kind() {
                io::ErrorKind::NotFound => ReadError::Gone,
                io::ErrorKind::PermissionDenied => ReadError::Denied,
                _ => ReadError::Other,
            },
        }
    }
}

/// Largest file the agent reads (environ and cmdline can be long; stat and io are tiny).
const MAX_FILE: usize = 1 << 20;

/// A reader of `<root>/<pid>/<file>` with buffers kept between calls.
pub struct ProcReader {
    root: OsString,
    path: OsString,
    buf: Vec<u8>,
    len: usize,
    digits: [u8; 20],
}

impl ProcReader {
    pub fn new(root: &Path) -> Self {
        ProcReader {
            root: root.as_os_str().to_owned(),
            path: OsString::with_capacity(64),
            buf: vec![0; 4096],
            len: 0,
            digits: [0; 20],
        }
    }

    fn set_path(&mut self, pid: u32, file: &str) {
        self.path.clear();
        self.path.push(&self.root);
        self.path.push("/");
        let mut n = pid;
        let mut i = self.digits.len();
        loop {
            i -= 1;
            self.digits[i] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        self.path
            .push(std::ffi::OsStr::from_bytes(&self.digits[i..]));
        if !file.is_empty() {
            self.path.push("/");
            self.path.push(file);
        }
    }

    /// The path of `<root>/<pid>/<file>` (valid until the next call).
    pub fn path(&mut self, pid: u32, file: &str) -> &Path {
        self.set_path(pid, file);
        Path::new(&self.path)
    }

    /// Read `<root>/<pid>/<file>` whole; the bytes stay valid until the next read.
    pub fn read(&mut self, pid: u32, file: &str) -> Result<&[u8], ReadError> {
        self.set_path(pid, file);
        let mut f = File::open(&self.path).map_err(|e| ReadError::from(&e))?;
        self.fill(|buf, _| f.read(buf))
    }

    /// Read a file kept open from offset 0 (procfs regenerates it on every read).
    pub fn pread(&mut self, f: &File) -> Result<&[u8], ReadError> {
        use std::os::unix::fs::FileExt;
        self.fill(|buf, offset| f.read_at(buf, offset))
    }

    /// Fills the reused buffer from `read(buf, offset)` until the end, growing it up to
    /// `MAX_FILE`. procfs hands out a whole seq_file record in one read, so a short read means the
    /// end, which saves the extra read(2) that would return 0.
    fn fill(
        &mut self,
        mut read: impl FnMut(&mut [u8], u64) -> io::Result<usize>,
    ) -> Result<&[u8], ReadError> {
        self.len = 0;
        loop {
            if self.len == self.buf.len() {
                if self.buf.len() >= MAX_FILE {
                    break;
                }
                let grown = self.buf.len() * 2;
                self.buf.resize(grown, 0);
            }
            let want = self.buf.len() - self.len;
            match read(&mut self.buf[self.len..], self.len as u64) {
                Ok(0) => break,
                Ok(n) => {
                    self.len += n;
                    if n < want {
                        break;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(ReadError::from(&e)),
            }
        }
        Ok(&self.buf[..self.len])
    }

    /// Open `<root>/<pid>/<file>` to keep it.
    pub fn open(&mut self, pid: u32, file: &str) -> Result<File, ReadError> {
        self.set_path(pid, file);
        File::open(&self.path).map_err(|e| ReadError::from(&e))
    }

    /// Read any file below the root (`sub` relative to it), e.g. `sys/kernel/hostname`.
    pub fn read_root_file(&mut self, sub: &str) -> Result<&[u8], ReadError> {
        self.path.clear();
        self.path.push(&self.root);
        self.path.push("/");
        self.path.push(sub);
        let mut f = File::open(&self.path).map_err(|e| ReadError::from(&e))?;
        self.len = 0;
        let n = f.read(&mut self.buf[..]).map_err(|e| ReadError::from(&e))?;
        self.len = n;
        Ok(&self.buf[..self.len])
    }

    /// The target of the link `<root>/<pid>/<file>` (e.g. `ns/net`).
    pub fn read_link(&mut self, pid: u32, file: &str) -> Result<OsString, ReadError> {
        self.set_path(pid, file);
        std::fs::read_link(&self.path)
            .map(|p| p.into_os_string())
            .map_err(|e| ReadError::from(&e))
    }

    /// Number of entries in `<root>/<pid>/fd`: from the directory size where procfs reports it
    /// (Linux 6.2+), else by listing it.
    pub fn fd_count(&mut self, pid: u32, size_is_count: bool) -> Result<u64, ReadError> {
        self.set_path(pid, "fd");
        if size_is_count {
            let md = std::fs::metadata(&self.path).map_err(|e| ReadError::from(&e))?;
            if md.len() > 0 {
                return Ok(md.len());
            }
        }
        let dir = std::fs::read_dir(&self.path).map_err(|e| ReadError::from(&e))?;
        let mut n = 0;
        for entry in dir {
            match entry {
                Ok(_) => n += 1,
                Err(e) => return Err(ReadError::from(&e)),
            }
        }
        Ok(n)
    }
}
