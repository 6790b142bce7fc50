//! The work folder: content-addressed cache entries, current outputs,
//! the input-hash state and the exclusive lock.
//!
//! ```text
//! <workdir>/cache-v1/<fingerprint>/outputs/...   a stage's outputs, immutable
//! <workdir>/cache-v1/<fingerprint>/entry.json    what produced them, their hashes
//! <workdir>/out/<stage> -> ../cache-v1/<fp>/outputs   the current outputs
//! <workdir>/runs/<time>.json                     one report per run
//! <workdir>/state/inputs.json                    (path, size, mtime, inode) -> hash
//! <workdir>/tmp/                                 stages write here, then rename
//! ```

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// A file and its content hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, PartialOrd, Ord)]
pub struct FileHash {
    /// Path (relative to the stage's output folder, or to the pipeline's folder for inputs).
    pub path: String,
    /// blake3 of the content, hex.
    pub hash: String,
    /// Size in bytes.
    pub size: u64,
}

/// What a cache entry records about the run that made it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Entry {
    /// Stage name when it was made.
    pub stage: String,
    /// Stage kind.
    pub kind: String,
    /// Implementation version.
    pub version: u32,
    /// The fingerprint (= the entry's folder name).
    pub fingerprint: String,
    /// Canonical parameters.
    pub params: serde_json::Value,
    /// Needed stages and the digest of their outputs.
    pub upstream: BTreeMap<String, String>,
    /// External inputs.
    pub inputs: Vec<FileHash>,
    /// Outputs, sorted by path.
    pub outputs: Vec<FileHash>,
    /// Wall-clock seconds of the stage.
    pub seconds: f64,
    /// Peak resident memory during the stage, MiB (Linux).
    pub peak_rss_mib: Option<f64>,
    /// Headline metrics.
    pub metrics: BTreeMap<String, serde_json::Value>,
    /// Summary lines.
    pub summary: Vec<String>,
}

impl Entry {
    /// The digest of the outputs, which downstream fingerprints include.
    pub fn outputs_digest(&self) -> String {
        outputs_digest(&self.outputs)
    }
}

/// blake3 over the sorted (path, hash) list.
pub fn outputs_digest(outputs: &[FileHash]) -> String {
    let mut h = blake3::Hasher::new();
    for o in outputs {
        h.update(o.path.as_bytes());
        h.update(b"\0");
        h.update(o.hash.as_bytes());
        h.update(b"\n");
    }
    h.finalize().to_hex().to_string()
}

/// Hashes every file under `dir` (recursively), sorted by relative path.
pub fn hash_tree(dir: &Path) -> Result<Vec<FileHash>> {
    let mut files = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in fs::read_dir(&d).with_context(|| format!("reading {}", d.display()))? {
            let e = e?;
            let p = e.path();
            if e.file_type()?.is_dir() {
                todo.push(p);
            } else {
                files.push(p);
            }
        }
    }
    let mut out: Vec<FileHash> = files
        .par_iter()
        .map(|p| {
            let hash = recpipe_core::hash_file(p)?;
            let size = fs::metadata(p).map(|m| m.len()).unwrap_or(0);
            let rel = p
                .strip_prefix(dir)
                .unwrap_or(p)
                .to_string_lossy()
                .replace('\\', "/");
            Ok(FileHash {
                path: rel,
                hash,
                size,
            })
        })
        .collect::<Result<_>>()?;
    out.sort();
    Ok(out)
}

/// The work folder.
#[derive(Debug, Clone)]
pub struct Workdir {
    root: PathBuf,
}

/// Whether a fingerprint is cached.
pub enum Lookup {
    /// A complete entry exists.
    Hit(Box<Entry>),
    /// No (usable) entry.
    Miss,
}

impl Workdir {
    /// The work folder at `root` (created on demand).
    pub fn new(root: &Path) -> Self {
        Workdir {
            root: root.to_path_buf(),
        }
    }

    /// Its path.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The reports of the newest `n` runs (`runs/<time>.json`, whose names
    /// sort by time), newest first; one that cannot be read is skipped.
    pub fn recent_runs(&self, n: usize) -> Vec<serde_json::Value> {
        let mut runs: Vec<PathBuf> = fs::read_dir(self.root.join("runs"))
            .map(|rd| rd.flatten().map(|e| e.path()).collect())
            .unwrap_or_default();
        runs.sort();
        (runs.iter().rev().take(n))
            .filter_map(|r| recpipe_core::fsutil::read_json(r).ok())
            .collect()
    }

    /// Creates the folder layout.
    pub fn create(&self) -> Result<()> {
        for d in ["cache-v1", "out", "runs", "state", "tmp"] {
            fs::create_dir_all(self.root.join(d))
                .with_context(|| format!("creating {}", self.root.join(d).display()))?;
        }
        Ok(())
    }

    /// A cache entry's folder.
    pub fn entry_dir(&self, fingerprint: &str) -> PathBuf {
        self.root.join("cache-v1").join(fingerprint)
    }

    /// A cache entry's outputs folder.
    pub fn outputs_dir(&self, fingerprint: &str) -> PathBuf {
        self.entry_dir(fingerprint).join("outputs")
    }

    /// The stable path of a stage's current outputs.
    pub fn current(&self, stage: &str) -> PathBuf {
        self.root.join("out").join(stage)
    }

    /// Looks a fingerprint up; a missing or incomplete entry is a miss, never an error.
    /// With `check`, every file is re-hashed and a mismatch is a miss too.
    pub fn lookup(&self, fingerprint: &str, check: bool) -> Lookup {
        let dir = self.entry_dir(fingerprint);
        let Ok(entry) = recpipe_core::fsutil::read_json::<Entry>(&dir.join("entry.json")) else {
            return Lookup::Miss;
        };
        let out = dir.join("outputs");
        let complete = entry
            .outputs
            .iter()
            .all(|o| fs::metadata(out.join(&o.path)).is_ok_and(|m| m.len() == o.size));
        if !complete {
            return Lookup::Miss;
        }
        if check && self.corrupt_files(&entry).is_some_and(|c| !c.is_empty()) {
            return Lookup::Miss;
        }
        Lookup::Hit(Box::new(entry))
    }

    /// The outputs of `entry` whose content no longer matches (None if the entry is gone).
    pub fn corrupt_files(&self, entry: &Entry) -> Option<Vec<String>> {
        let out = self.outputs_dir(&entry.fingerprint);
        if !out.is_dir() {
            return None;
        }
        let bad = entry
            .outputs
            .par_iter()
            .filter(|o| recpipe_core::hash_file(&out.join(&o.path)).map_or(true, |h| h != o.hash))
            .map(|o| o.path.clone())
            .collect();
        Some(bad)
    }

    /// Removes a cache entry (e.g. a corrupt one before it is rebuilt).
    pub fn evict(&self, fingerprint: &str) -> Result<()> {
        let dir = self.entry_dir(fingerprint);
        if dir.exists() {
            let trash = self
                .root
                .join("tmp")
                .join(format!("evicted-{fingerprint}-{}", std::process::id()));
            fs::rename(&dir, &trash)
                .with_context(|| format!("moving {} to {}", dir.display(), trash.display()))?;
            fs::remove_dir_all(&trash).with_context(|| format!("removing {}", trash.display()))?;
        }
        Ok(())
    }

    /// Removes what interrupted runs left: their temporary folders in
    /// `tmp/` and half-made links in `out/`. Only for the holder of the
    /// [`WorkdirLock`], when no other run can be writing them. Returns how
    /// many were removed and the bytes they held.
    pub fn clear_leftovers(&self) -> Result<(usize, u64)> {
        let (mut removed, mut bytes) = (0, 0);
        if let Ok(rd) = fs::read_dir(self.root.join("tmp")) {
            for e in rd.flatten() {
                let path = e.path();
                bytes += dir_size(&path);
                fs::remove_dir_all(&path)
                    .with_context(|| format!("removing {}", path.display()))?;
                removed += 1;
            }
        }
        if let Ok(rd) = fs::read_dir(self.root.join("out")) {
            for e in rd.flatten() {
                let name = e.file_name();
                let name = name.to_string_lossy();
                if name.starts_with('.') && name.ends_with(".tmp") {
                    fs::remove_file(e.path())
                        .with_context(|| format!("removing {}", e.path().display()))?;
                    removed += 1;
                }
            }
        }
        Ok((removed, bytes))
    }

    /// A fresh temporary folder for a stage run.
    pub fn temp_entry(&self, fingerprint: &str) -> Result<PathBuf> {
        let dir = self
            .root
            .join("tmp")
            .join(format!("{fingerprint}-{}", std::process::id()));
        if dir.exists() {
            fs::remove_dir_all(&dir).with_context(|| format!("removing {}", dir.display()))?;
        }
        fs::create_dir_all(dir.join("outputs"))
            .with_context(|| format!("creating {}", dir.join("outputs").display()))?;
        Ok(dir)
    }

    /// Moves a finished temporary entry into the cache (atomic rename).
    pub fn commit(&self, temp: &Path, entry: &Entry) -> Result<()> {
        recpipe_core::write_json_atomic(&temp.join("entry.json"), entry)?;
        // Cached files are immutable: make them read-only so an edit in out/ fails loudly.
        for o in &entry.outputs {
            let p = temp.join("outputs").join(&o.path);
            if let Ok(meta) = fs::metadata(&p) {
                let mut perm = meta.permissions();
                perm.set_readonly(true);
                let _ = fs::set_permissions(&p, perm);
            }
        }
        let dest = self.entry_dir(&entry.fingerprint);
        if dest.exists() {
            self.evict(&entry.fingerprint)?;
        }
        fs::rename(temp, &dest)
            .with_context(|| format!("moving {} into the cache", temp.display()))?;
        Ok(())
    }

    /// Points `out/<stage>` at a cache entry (a relative symlink, swapped atomically).
    pub fn set_current(&self, stage: &str, fingerprint: &str) -> Result<()> {
        let link = self.current(stage);
        let target = Path::new("..")
            .join("cache-v1")
            .join(fingerprint)
            .join("outputs");
        if fs::read_link(&link).is_ok_and(|t| t == target) {
            return Ok(());
        }
        let tmp = self
            .root
            .join("out")
            .join(format!(".{stage}.{}.tmp", std::process::id()));
        let _ = fs::remove_file(&tmp);
        #[cfg(unix)]
        std::os::unix::fs::symlink(&target, &tmp)
            .with_context(|| format!("creating the link {}", tmp.display()))?;
        #[cfg(not(unix))]
        anyhow::bail!("recpipe needs symlinks (Unix) for out/");
        if link.is_dir() && fs::symlink_metadata(&link).is_ok_and(|m| !m.file_type().is_symlink()) {
            fs::remove_dir_all(&link).with_context(|| format!("removing {}", link.display()))?;
        }
        fs::rename(&tmp, &link)
            .with_context(|| format!("moving {} to {}", tmp.display(), link.display()))?;
        Ok(())
    }

    /// Every cache entry's fingerprint.
    pub fn entries(&self) -> Vec<String> {
        let mut out: Vec<String> = fs::read_dir(self.root.join("cache-v1"))
            .map(|rd| {
                rd.filter_map(|e| e.ok())
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        out.sort();
        out
    }
}

/// One remembered input file: if its metadata is unchanged, its hash is reused.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
struct Known {
    size: u64,
    mtime_ns: i128,
    inode: u64,
    hash: String,
}

/// The (path, size, mtime, inode) -> hash memory that makes no-op runs cheap.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct InputState {
    files: BTreeMap<String, Known>,
    #[serde(skip)]
    dirty: bool,
}

impl InputState {
    fn path(workdir: &Workdir) -> PathBuf {
        workdir.root().join("state").join("inputs.json")
    }

    /// Loads the state (empty if absent or unreadable).
    pub fn load(workdir: &Workdir) -> Self {
        recpipe_core::fsutil::read_json(&Self::path(workdir)).unwrap_or_default()
    }

    /// Saves it if anything changed.
    pub fn save(&self, workdir: &Workdir) -> Result<()> {
        if self.dirty {
            recpipe_core::write_json_atomic(&Self::path(workdir), self)?;
        }
        Ok(())
    }

    /// The hash of `file`, re-read only when its metadata changed.
    pub fn hash(&mut self, file: &Path) -> Result<(String, u64)> {
        let meta =
            fs::metadata(file).with_context(|| format!("input {} is missing", file.display()))?;
        let mtime_ns = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_nanos() as i128);
        #[cfg(unix)]
        let inode = std::os::unix::fs::MetadataExt::ino(&meta);
        #[cfg(not(unix))]
        let inode = 0;
        let key = file.to_string_lossy().into_owned();
        if let Some(k) = self.files.get(&key)
            && k.size == meta.len()
            && k.mtime_ns == mtime_ns
            && k.inode == inode
        {
            return Ok((k.hash.clone(), k.size));
        }
        let hash = recpipe_core::hash_file(file)?;
        self.files.insert(
            key,
            Known {
                size: meta.len(),
                mtime_ns,
                inode,
                hash: hash.clone(),
            },
        );
        self.dirty = true;
        Ok((hash, meta.len()))
    }
}

/// The bytes of the files under `path` (links not followed).
pub fn dir_size(path: &Path) -> u64 {
    let mut total = 0;
    let mut todo = vec![path.to_path_buf()];
    while let Some(d) = todo.pop() {
        if let Ok(rd) = fs::read_dir(&d) {
            for e in rd.flatten() {
                match e.metadata() {
                    Ok(m) if m.is_dir() => todo.push(e.path()),
                    Ok(m) => total += m.len(),
                    Err(_) => {}
                }
            }
        }
    }
    total
}

/// An exclusive lock on the work folder, released on drop.
pub struct WorkdirLock {
    _file: fs::File,
}

impl WorkdirLock {
    /// Takes the lock, waiting (with a message) if another run holds it, or failing if `wait` is false.
    pub fn acquire(workdir: &Workdir, wait: bool) -> Result<Self> {
        fs::create_dir_all(workdir.root())
            .with_context(|| format!("creating the work folder {}", workdir.root().display()))?;
        let path = workdir.root().join("lock");
        let file = fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(&path)
            .with_context(|| format!("opening {}", path.display()))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(fs::TryLockError::WouldBlock) => {
                if !wait {
                    anyhow::bail!(
                        "another recpipe run holds {}; try again when it ends",
                        path.display()
                    );
                }
                eprintln!(
                    "waiting for another recpipe run to finish ({} is locked)...",
                    path.display()
                );
                file.lock()
                    .with_context(|| format!("locking {}", path.display()))?;
            }
            Err(fs::TryLockError::Error(e)) => {
                return Err(e).with_context(|| format!("locking {}", path.display()));
            }
        }
        Ok(WorkdirLock { _file: file })
    }
}

/// Peak resident memory since the last reset, in MiB (Linux only).
pub fn peak_rss_mib() -> Option<f64> {
    let status = fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some((kb / 1024.0 * 10.0).round() / 10.0)
}

/// Resets the peak-memory counter (Linux: /proc/self/clear_refs), so each stage gets its own peak.
pub fn reset_peak_rss() {
    let _ = fs::write("/proc/self/clear_refs", "5");
}
