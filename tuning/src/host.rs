//! Read-only access to a host's `/proc` and `/sys` below a chosen root.
//!
//! Every check reads through [`HostFs`], so tests point it at a fake tree and the real tool points
//! it at `/`. It only opens files for reading and lists directories; it never writes, creates or
//! changes anything on the host. A missing or unreadable file is a [`HostError`] value, never a
//! panic.

use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use crate::cpuset::CpuSet;

/// Largest file the reader accepts. `/proc/interrupts` on a 256-CPU host is a few hundred KiB; a
/// bigger file is not one of ours (or the fake tree is broken), so it is refused, not slurped.
const MAX_FILE_BYTES: u64 = 16 * 1024 * 1024;

/// Why a host file could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HostError {
    /// The file does not exist (kernel feature absent, or a sparse fake tree).
    #[error("{path} is missing")]
    Missing {
        /// Path below the root, as asked for.
        path: String,
    },
    /// The file exists but could not be read (permissions, oversized, I/O error).
    #[error("{path} is unreadable ({reason})")]
    Unreadable {
        /// Path below the root, as asked for.
        path: String,
        /// What went wrong.
        reason: String,
    },
    /// The file was read but its content is not what the kernel writes there.
    #[error("{path} holds unexpected text {value:?}")]
    Malformed {
        /// Path below the root, as asked for.
        path: String,
        /// The text found (trimmed, at most 80 characters).
        value: String,
    },
}

impl HostError {
    /// Whether the error is a missing file (as opposed to a bad one).
    pub fn is_missing(&self) -> bool {
        matches!(self, HostError::Missing { .. })
    }

    /// A short description for a report's "found" column.
    pub fn short(&self) -> String {
        match self {
            HostError::Missing { path } => format!("{path} missing"),
            HostError::Unreadable { path, reason } => format!("{path} unreadable: {reason}"),
            HostError::Malformed { path, value } => format!("{path} = {value:?} (unexpected)"),
        }
    }
}

/// A read-only view of a host's files below `root` (`/` for the running host).
#[derive(Debug, Clone)]
pub struct HostFs {
    root: PathBuf,
}

impl HostFs {
    /// A reader rooted at `root`.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// The root this reader resolves paths against.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The real path of `rel` (an absolute-looking host path such as `/proc/cmdline`).
    pub fn path(&self, rel: &str) -> PathBuf {
        self.root.join(rel.trim_start_matches('/'))
    }

    /// Whether `rel` exists (file, directory or symlink target).
    pub fn exists(&self, rel: &str) -> bool {
        self.path(rel).exists()
    }

    /// The whole text of `rel`.
    pub fn read(&self, rel: &str) -> Result<String, HostError> {
        use std::io::Read;
        let path = self.path(rel);
        let unreadable = |reason: String| HostError::Unreadable {
            path: rel.to_string(),
            reason,
        };
        let file = std::fs::File::open(&path).map_err(|e| match e.kind() {
            ErrorKind::NotFound | ErrorKind::NotADirectory => HostError::Missing {
                path: rel.to_string(),
            },
            _ => unreadable(e.to_string()),
        })?;
        let mut bytes = Vec::new();
        file.take(MAX_FILE_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| unreadable(e.to_string()))?;
        if bytes.len() as u64 > MAX_FILE_BYTES {
            return Err(unreadable(format!("larger than {MAX_FILE_BYTES} bytes")));
        }
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    }

    /// The text of `rel` with surrounding whitespace removed.
    pub fn read_trimmed(&self, rel: &str) -> Result<String, HostError> {
        self.read(rel).map(|s| s.trim().to_string())
    }

    /// `rel` parsed as a signed integer (sysctls, sysfs numbers).
    pub fn read_int(&self, rel: &str) -> Result<i64, HostError> {
        let text = self.read_trimmed(rel)?;
        text.parse::<i64>().map_err(|_| self.malformed(rel, &text))
    }

    /// `rel` parsed as a CPU list (`0-3,8`).
    pub fn read_cpu_list(&self, rel: &str) -> Result<CpuSet, HostError> {
        let text = self.read_trimmed(rel)?;
        CpuSet::parse_list(&text).map_err(|_| self.malformed(rel, &text))
    }

    /// `rel` parsed as a hexadecimal CPU mask (`00000000,00000003`).
    pub fn read_cpu_mask(&self, rel: &str) -> Result<CpuSet, HostError> {
        let text = self.read_trimmed(rel)?;
        CpuSet::parse_mask(&text).map_err(|_| self.malformed(rel, &text))
    }

    /// The sorted entry names of directory `rel`.
    pub fn list_dir(&self, rel: &str) -> Result<Vec<String>, HostError> {
        let entries = std::fs::read_dir(self.path(rel)).map_err(|e| match e.kind() {
            ErrorKind::NotFound | ErrorKind::NotADirectory => HostError::Missing {
                path: rel.to_string(),
            },
            _ => HostError::Unreadable {
                path: rel.to_string(),
                reason: e.to_string(),
            },
        })?;
        let mut names: Vec<String> = entries
            .filter_map(Result::ok)
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        Ok(names)
    }

    /// A [`HostError::Malformed`] for `rel` holding `value` (cut to 80 characters).
    pub fn malformed(&self, rel: &str, value: &str) -> HostError {
        HostError::Malformed {
            path: rel.to_string(),
            value: value.chars().take(80).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_files_are_errors_not_panics() {
        let fs = HostFs::new("/nonexistent-kspin-root");
        assert!(fs.read("/proc/cmdline").unwrap_err().is_missing());
        assert!(fs
            .read_int("/proc/sys/vm/swappiness")
            .unwrap_err()
            .is_missing());
        assert!(fs.list_dir("/proc/irq").unwrap_err().is_missing());
        assert_eq!(
            fs.path("/proc/cmdline"),
            Path::new("/nonexistent-kspin-root/proc/cmdline")
        );
    }
}
