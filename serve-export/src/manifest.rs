//! `manifest.json`: every artifact with its size, rows, schema and sha256,
//! `recpipe bundle verify`, and `recpipe bundle publish`.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::{ExportError, Result};

/// One artifact of the bundle.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Artifact {
    /// Path relative to the bundle.
    pub path: String,
    /// Bytes.
    pub size: u64,
    /// Rows (Parquet and .npy).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rows: Option<u64>,
    /// Column name -> type (Parquet), or dtype and shape (.npy).
    #[serde(skip_serializing_if = "BTreeMap::is_empty", default)]
    pub schema: BTreeMap<String, String>,
    /// sha256 of the content, hex.
    pub sha256: String,
}

/// The manifest.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Manifest {
    /// Manifest format version.
    pub format: u32,
    /// recpipe version that wrote the bundle.
    pub recpipe_version: String,
    /// Fingerprint of the export stage: covers parameters, code versions and every upstream output.
    pub pipeline_fingerprint: String,
    /// The model (train's model.json).
    pub model: serde_json::Value,
    /// The model's metrics (train's metrics.json).
    pub metrics: serde_json::Value,
    /// Artifacts, sorted by path.
    pub artifacts: Vec<Artifact>,
}

/// sha256 of a file, hex.
pub fn sha256_file(path: &Path) -> Result<String> {
    let mut f = std::fs::File::open(path).map_err(|e| recpipe_core::CoreError::io(path, e))?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f
            .read(&mut buf)
            .map_err(|e| recpipe_core::CoreError::io(path, e))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(h.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

/// Describes one file of the bundle.
pub fn describe(dir: &Path, rel: &str) -> Result<Artifact> {
    let path = dir.join(rel);
    let size = std::fs::metadata(&path)
        .map_err(|e| recpipe_core::CoreError::io(&path, e))?
        .len();
    let mut schema = BTreeMap::new();
    let mut rows = None;
    if rel.ends_with(".parquet") {
        let (table_schema, n) = recpipe_core::ParquetTable::schema_and_rows(&path)?;
        rows = Some(n as u64);
        for f in table_schema.fields() {
            schema.insert(f.name().clone(), f.data_type().to_string());
        }
    } else if rel.ends_with(".npy") {
        let (_, r, c) = crate::npy::read_f32(&path)?;
        rows = Some(r as u64);
        schema.insert("dtype".into(), "float32".into());
        schema.insert("shape".into(), format!("({r}, {c})"));
    }
    Ok(Artifact {
        path: rel.to_string(),
        size,
        rows,
        schema,
        sha256: sha256_file(&path)?,
    })
}

/// The result of verifying a bundle.
#[derive(Debug, Clone, Default)]
pub struct Verification {
    /// Artifacts checked.
    pub checked: usize,
    /// Problems found.
    pub problems: Vec<String>,
}

/// Re-hashes every artifact of the bundle in `dir` against its manifest.
pub fn verify(dir: &Path) -> Result<Verification> {
    let mpath = dir.join("manifest.json");
    let manifest: Manifest = recpipe_core::fsutil::read_json(&mpath).map_err(|e| {
        ExportError::Bundle(format!("{e} (is {} an export bundle?)", dir.display()))
    })?;
    let mut v = Verification::default();
    for a in &manifest.artifacts {
        v.checked += 1;
        let path = dir.join(&a.path);
        match std::fs::metadata(&path) {
            Err(_) => v.problems.push(format!("{}: missing", a.path)),
            Ok(m) if m.len() != a.size => v.problems.push(format!(
                "{}: size {} but the manifest says {}",
                a.path,
                m.len(),
                a.size
            )),
            Ok(_) => {
                let h = sha256_file(&path)?;
                if h != a.sha256 {
                    v.problems.push(format!(
                        "{}: sha256 {} but the manifest says {}",
                        a.path,
                        &h[..16],
                        &a.sha256[..16]
                    ));
                }
            }
        }
    }
    Ok(v)
}

/// Why [`publish`] refuses a destination that exists.
pub const DEST_EXISTS: &str =
    "exists: publish to a new folder (such as one named for the day) and point a link at it";

/// What [`publish`] copied.
#[derive(Debug, Clone, Default)]
pub struct Published {
    /// Files copied: the artifacts and manifest.json.
    pub files: usize,
    /// Their bytes.
    pub bytes: u64,
}

/// Copies the bundle in `src` (its manifest's artifacts and the manifest)
/// into the new folder `dest`, whole or not at all: the files go into a
/// hidden folder beside `dest`, are synced to disk, and the folder is
/// renamed to `dest` last, so that a server never sees half a bundle. A
/// `dest` that exists is refused (publish each run to a new folder, a dated
/// one, and point a link at it). Checking the bundle against its manifest
/// first is the caller's part ([`verify`]).
pub fn publish(src: &Path, dest: &Path) -> Result<Published> {
    let manifest: Manifest =
        recpipe_core::fsutil::read_json(&src.join("manifest.json")).map_err(|e| {
            ExportError::Bundle(format!("{e} (is {} an export bundle?)", src.display()))
        })?;
    if dest.exists() {
        return Err(ExportError::Bundle(format!(
            "{}: {DEST_EXISTS}",
            dest.display()
        )));
    }
    let io = |path: &Path, e: std::io::Error| -> ExportError {
        recpipe_core::CoreError::io(path, e).into()
    };
    let parent = match dest.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    };
    std::fs::create_dir_all(&parent).map_err(|e| io(&parent, e))?;
    let name = dest
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .ok_or_else(|| ExportError::Bundle(format!("{} names no folder", dest.display())))?;
    let temp = parent.join(format!(".{name}.publishing-{}", std::process::id()));
    let copied = copy_files(src, &temp, &manifest, &io).and_then(|published| {
        std::fs::rename(&temp, dest).map_err(|e| io(dest, e))?;
        // The rename itself, on disk.
        std::fs::File::open(&parent)
            .and_then(|d| d.sync_all())
            .map_err(|e| io(&parent, e))?;
        Ok(published)
    });
    if copied.is_err() {
        let _ = std::fs::remove_dir_all(&temp);
    }
    copied
}

/// Copies the manifest's artifacts and manifest.json from `src` into the
/// new folder `to`, each synced to disk.
fn copy_files(
    src: &Path,
    to: &Path,
    manifest: &Manifest,
    io: &dyn Fn(&Path, std::io::Error) -> ExportError,
) -> Result<Published> {
    std::fs::create_dir(to).map_err(|e| io(to, e))?;
    let mut published = Published::default();
    let paths = manifest.artifacts.iter().map(|a| a.path.as_str());
    for rel in paths.chain(["manifest.json"]) {
        let inside = Path::new(rel)
            .components()
            .all(|c| matches!(c, std::path::Component::Normal(_)));
        if !inside {
            return Err(ExportError::Bundle(format!(
                "manifest.json lists `{rel}`, a path outside the bundle"
            )));
        }
        let (from, copy) = (src.join(rel), to.join(rel));
        if let Some(folder) = copy.parent() {
            std::fs::create_dir_all(folder).map_err(|e| io(folder, e))?;
        }
        published.bytes += std::fs::copy(&from, &copy).map_err(|e| io(&from, e))?;
        std::fs::File::open(&copy)
            .and_then(|f| f.sync_all())
            .map_err(|e| io(&copy, e))?;
        published.files += 1;
    }
    Ok(published)
}
