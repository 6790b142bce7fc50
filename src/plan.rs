//! The resolved, validated pipeline the runner executes: stages in
//! dependency order with canonical parameters and their external inputs.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde_json::Value as Json;
use serde_yaml::Value as Yaml;

use crate::config::{self, ConfigError, RawStage, nearest, with_suggestion};
use crate::stages::{self, Kind};

/// A stage ready to run.
#[derive(Clone)]
pub struct PlannedStage {
    /// Its name in pipeline.yaml.
    pub name: String,
    /// Its kind.
    pub kind: &'static Kind,
    /// The stages it needs, in the order written.
    pub needs: Vec<String>,
    /// Canonical parameters (defaults filled in, keys sorted).
    pub params: Json,
    /// External files it reads.
    pub inputs: Vec<PathBuf>,
    /// The description written in pipeline.yaml.
    pub desc: Option<String>,
}

/// The whole pipeline.
#[derive(Clone)]
pub struct Plan {
    /// pipeline.yaml.
    pub file: PathBuf,
    /// Its folder: relative paths resolve against it.
    pub base_dir: PathBuf,
    /// The work folder (cache, current outputs, runs).
    pub workdir: PathBuf,
    /// Stages in a dependency order (ties keep the file's order).
    pub stages: Vec<PlannedStage>,
}

impl Plan {
    /// The stage named `name`.
    pub fn stage(&self, name: &str) -> Option<&PlannedStage> {
        self.stages.iter().find(|s| s.name == name)
    }

    /// Stage names for "did you mean" hints.
    pub fn names(&self) -> Vec<&str> {
        self.stages.iter().map(|s| s.name.as_str()).collect()
    }

    /// Checks that `name` is a stage, suggesting the nearest otherwise.
    pub fn check_name(&self, name: &str) -> Result<(), ConfigError> {
        if self.stage(name).is_some() {
            return Ok(());
        }
        let hint = nearest(name, self.names())
            .map(|n| format!("; did you mean `{n}`?"))
            .unwrap_or_default();
        Err(ConfigError::at(
            &self.file,
            None,
            format!(
                "no stage `{name}` (stages: {}){hint}",
                self.names().join(", ")
            ),
        ))
    }

    /// `names` and every stage they depend on, transitively.
    pub fn ancestors_of(&self, names: &[String]) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        let mut todo: Vec<String> = names.to_vec();
        while let Some(n) = todo.pop() {
            if out.insert(n.clone())
                && let Some(s) = self.stage(&n)
            {
                todo.extend(s.needs.iter().cloned());
            }
        }
        out
    }

    /// `names` and every stage that depends on them, transitively.
    pub fn descendants_of(&self, names: &[String]) -> BTreeSet<String> {
        let mut out: BTreeSet<String> = names.iter().cloned().collect();
        for s in &self.stages {
            if s.needs.iter().any(|n| out.contains(n)) {
                out.insert(s.name.clone());
            }
        }
        out
    }
}

/// A `--set stage.key=value` override.
#[derive(Debug, Clone)]
pub struct Override {
    /// The stage.
    pub stage: String,
    /// The key path inside `with:`.
    pub path: Vec<String>,
    /// The value, parsed as YAML.
    pub value: Yaml,
}

impl std::str::FromStr for Override {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let (lhs, rhs) = s
            .split_once('=')
            .ok_or_else(|| format!("`{s}` is not stage.key=value"))?;
        let mut parts = lhs.trim().split('.').map(str::to_string);
        let stage = parts
            .next()
            .filter(|p| !p.is_empty())
            .ok_or("missing stage name")?;
        let path: Vec<String> = parts.collect();
        if path.is_empty() || path.iter().any(|p| p.is_empty()) {
            return Err(format!("`{lhs}` is not stage.key"));
        }
        let value = serde_yaml::from_str(rhs).map_err(|e| format!("value `{rhs}`: {e}"))?;
        Ok(Override { stage, path, value })
    }
}

/// Replaces `${name}`, `${env:NAME}` and `${env:NAME:-default}` in strings.
/// A string that is exactly one `${name}` takes the variable's own type.
fn substitute(value: &mut Yaml, vars: &BTreeMap<String, Yaml>) -> Result<(), String> {
    match value {
        Yaml::String(s) => {
            if let Some(name) = s.strip_prefix("${").and_then(|r| r.strip_suffix('}'))
                && !name.contains("${")
                && !name.starts_with("env:")
            {
                *value = vars
                    .get(name)
                    .cloned()
                    .ok_or_else(|| undefined(name, vars))?;
                return Ok(());
            }
            let mut out = String::new();
            let mut rest = s.as_str();
            while let Some(start) = rest.find("${") {
                out.push_str(&rest[..start]);
                let end = rest[start..]
                    .find('}')
                    .ok_or_else(|| format!("unclosed `${{` in `{s}`"))?
                    + start;
                let name = &rest[start + 2..end];
                if let Some(env) = name.strip_prefix("env:") {
                    let (var, default) = match env.split_once(":-") {
                        Some((v, d)) => (v, Some(d)),
                        None => (env, None),
                    };
                    match (std::env::var(var), default) {
                        (Ok(v), _) if !v.is_empty() => out.push_str(&v),
                        (_, Some(d)) => out.push_str(d),
                        _ => {
                            return Err(format!(
                                "environment variable `{var}` is not set (write `${{env:{var}:-default}}` for a default)"
                            ));
                        }
                    }
                } else {
                    let v = vars.get(name).ok_or_else(|| undefined(name, vars))?;
                    match v {
                        Yaml::String(x) => out.push_str(x),
                        other => out.push_str(
                            serde_yaml::to_string(other)
                                .map_err(|e| e.to_string())?
                                .trim(),
                        ),
                    }
                }
                rest = &rest[end + 1..];
            }
            out.push_str(rest);
            *s = out;
        }
        Yaml::Sequence(seq) => {
            for v in seq {
                substitute(v, vars)?;
            }
        }
        Yaml::Mapping(map) => {
            for (_, v) in map.iter_mut() {
                substitute(v, vars)?;
            }
        }
        _ => {}
    }
    Ok(())
}

fn undefined(name: &str, vars: &BTreeMap<String, Yaml>) -> String {
    let hint = nearest(name, vars.keys().map(String::as_str))
        .map(|n| format!("; did you mean `{n}`?"))
        .unwrap_or_default();
    format!(
        "undefined variable `{name}` (vars: {}){hint}",
        vars.keys().cloned().collect::<Vec<_>>().join(", ")
    )
}

fn set_path(with: &mut Yaml, path: &[String], value: Yaml) {
    if with.is_null() {
        *with = Yaml::Mapping(Default::default());
    }
    let Yaml::Mapping(map) = with else { return };
    let key = Yaml::String(path[0].clone());
    if path.len() == 1 {
        map.insert(key, value);
    } else {
        let entry = map.entry(key).or_insert(Yaml::Null);
        set_path(entry, &path[1..], value);
    }
}

/// Typed view of the stages, parsed from the text so errors carry locations.
#[derive(serde::Deserialize)]
struct TypedStages {
    #[allow(dead_code)]
    version: serde_yaml::Value,
    #[serde(default)]
    #[allow(dead_code)]
    workdir: serde_yaml::Value,
    #[serde(default)]
    #[allow(dead_code)]
    vars: serde_yaml::Value,
    stages: BTreeMap<String, RawStage>,
}

/// Reads and validates `file`, applying `overrides`.
pub fn load(file: &Path, overrides: &[Override]) -> Result<Plan, ConfigError> {
    let text = std::fs::read_to_string(file).map_err(|e| {
        let message = if e.kind() == std::io::ErrorKind::NotFound {
            "not found; `recpipe init` writes a starter pipeline (built-in synthetic data), \
             or -p names another file"
                .to_string()
        } else if file.is_dir() {
            format!(
                "is a folder; -p names the pipeline file ({})",
                file.join("pipeline.yaml").display()
            )
        } else {
            format!("cannot read: {e}")
        };
        ConfigError::at(file, None, message)
    })?;
    // A byte-order mark (Windows editors write one) is not YAML's: left in,
    // it makes the first key `\u{feff}version`.
    let text = match text.strip_prefix('\u{feff}') {
        Some(rest) => rest.to_string(),
        None => text,
    };
    let raw = config::parse(file, &text)?;
    if raw.version != 1 {
        return Err(ConfigError::at(
            file,
            config::locate_key(&text, "version", "version").map(|_| (1, 1)),
            format!(
                "unsupported version {} (this recpipe reads version 1)",
                raw.version
            ),
        ));
    }
    let typed: TypedStages = serde_yaml::from_str(&text).map_err(|e| {
        ConfigError::at(
            file,
            e.location().map(|l| (l.line(), l.column())),
            with_suggestion(&e.to_string()),
        )
    })?;
    let base_dir = file.parent().map(Path::to_path_buf).unwrap_or_default();
    let base_dir = if base_dir.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        base_dir
    };
    let mut vars = raw.vars.clone();
    for v in vars.values_mut() {
        substitute(v, &BTreeMap::new())
            .map_err(|m| ConfigError::at(file, None, format!("vars: {m}")))?;
    }
    let order: Vec<String> = raw
        .stages
        .keys()
        .filter_map(|k| k.as_str().map(str::to_string))
        .collect();
    if order.len() != raw.stages.len() {
        return Err(ConfigError::at(file, None, "stage names must be strings"));
    }
    if order.is_empty() {
        return Err(ConfigError::at(file, None, "no stages"));
    }
    for o in overrides {
        if !typed.stages.contains_key(&o.stage) {
            let hint = nearest(&o.stage, order.iter().map(String::as_str))
                .map(|n| format!("; did you mean `{n}`?"))
                .unwrap_or_default();
            return Err(ConfigError::at(
                file,
                None,
                format!("--set: no stage `{}`{hint}", o.stage),
            ));
        }
    }
    let mut stages = Vec::new();
    for name in &order {
        let raw_stage = &typed.stages[name];
        let loc = |key: &str| config::locate_key(&text, name, key);
        let kind = stages::kind(&raw_stage.uses).ok_or_else(|| {
            let hint = nearest(&raw_stage.uses, stages::kind_names())
                .map(|n| format!("; did you mean `{n}`?"))
                .unwrap_or_default();
            ConfigError::at(
                file,
                loc("uses"),
                format!(
                    "stage `{name}`: unknown kind `{}` (kinds: {}){hint}",
                    raw_stage.uses,
                    stages::kind_names().join(", ")
                ),
            )
        })?;
        for need in &raw_stage.needs {
            if need == name {
                return Err(ConfigError::at(
                    file,
                    loc("needs"),
                    format!("stage `{name}` needs itself"),
                ));
            }
            if !typed.stages.contains_key(need) {
                let hint = nearest(need, order.iter().map(String::as_str))
                    .map(|n| format!("; did you mean `{n}`?"))
                    .unwrap_or_default();
                return Err(ConfigError::at(
                    file,
                    loc("needs"),
                    format!("stage `{name}` needs `{need}`, which is not a stage{hint}"),
                ));
            }
        }
        let mut with = raw_stage.with.clone();
        for o in overrides.iter().filter(|o| &o.stage == name) {
            set_path(&mut with, &o.path, o.value.clone());
        }
        substitute(&mut with, &vars)
            .map_err(|m| ConfigError::at(file, loc("with"), format!("stage `{name}`: {m}")))?;
        let params = (kind.params)(&with).map_err(|m| {
            let key = culprit_key(kind, &with, &m);
            let at = key.as_deref().and_then(loc).or_else(|| loc("with"));
            ConfigError::at(
                file,
                at,
                match key.as_deref().filter(|k| names_key(&m, k).is_none()) {
                    Some(k) => format!(
                        "stage `{name}` ({}): `{k}`: {}",
                        kind.name,
                        with_suggestion(&m)
                    ),
                    None => format!("stage `{name}` ({}): {}", kind.name, with_suggestion(&m)),
                },
            )
        })?;
        let inputs = (kind.inputs)(&params, &base_dir)
            .map_err(|m| ConfigError::at(file, loc("with"), format!("stage `{name}`: {m}")))?;
        stages.push(PlannedStage {
            name: name.clone(),
            kind,
            needs: raw_stage.needs.clone(),
            params,
            inputs,
            desc: raw_stage.desc.clone(),
        });
    }
    let stages = topo_sort(file, stages)?;
    // Beside a pipeline in the current folder, paths are shown as written
    // (`.recpipe/out/train`, not `./.recpipe/out/train`).
    let workdir = Path::new(raw.workdir.as_deref().unwrap_or(".recpipe"));
    let workdir = match base_dir == Path::new(".") {
        true => workdir.to_path_buf(),
        false => base_dir.join(workdir),
    };
    let plan = Plan {
        file: file.to_path_buf(),
        base_dir,
        workdir,
        stages,
    };
    // A kind's required upstream kinds may be needed directly or through other stages.
    for s in &plan.stages {
        let ancestors = plan.ancestors_of(std::slice::from_ref(&s.name));
        for req in s.kind.requires {
            if !plan
                .stages
                .iter()
                .any(|a| a.name != s.name && ancestors.contains(&a.name) && a.kind.name == *req)
            {
                return Err(ConfigError::at(
                    file,
                    config::locate_key(&text, &s.name, "needs"),
                    format!(
                        "stage `{}` ({}) must need {} `{req}` stage, directly or through another stage",
                        s.name,
                        s.kind.name,
                        if req.starts_with(['a', 'e', 'i', 'o', 'u']) {
                            "an"
                        } else {
                            "a"
                        }
                    ),
                ));
            }
        }
    }
    Ok(plan)
}

/// The top-level `with:` key the error is about: the first one it names,
/// alone or at the head of a path (`` `split.fraction`: invalid type``,
/// `` unknown field `factor` ``, `` `timestamp_format` ... has no `%`
/// field``), else the first whose removal changes the error (a check
/// across keys that names none).
fn culprit_key(kind: &Kind, with: &Yaml, error: &str) -> Option<String> {
    let Yaml::Mapping(map) = with else {
        return None;
    };
    let keys = || map.keys().filter_map(|k| k.as_str());
    let named = keys()
        .filter_map(|k| names_key(error, k).map(|at| (at, k)))
        .min();
    if let Some((_, k)) = named {
        return Some(k.to_string());
    }
    keys().find_map(|k| {
        let mut without = map.clone();
        without.remove(k);
        match (kind.params)(&Yaml::Mapping(without)) {
            Err(e) if e == error => None,
            _ => Some(k.to_string()),
        }
    })
}

/// Where `error` first names top-level key `key` in backticks, alone
/// (`` `split` ``) or as the head of a path (`` `split.fraction` ``,
/// `` `k_range[1]` ``).
fn names_key(error: &str, key: &str) -> Option<usize> {
    ["`", ".", "["]
        .iter()
        .filter_map(|end| error.find(&format!("`{key}{end}")))
        .min()
}

/// Kahn's algorithm; among ready stages the file's order wins. A cycle is an error naming it.
fn topo_sort(file: &Path, stages: Vec<PlannedStage>) -> Result<Vec<PlannedStage>, ConfigError> {
    let mut remaining: Vec<Option<PlannedStage>> = stages.into_iter().map(Some).collect();
    let mut done: BTreeSet<String> = BTreeSet::new();
    let mut out = Vec::new();
    loop {
        let ready = remaining.iter().position(|s| {
            s.as_ref()
                .is_some_and(|s| s.needs.iter().all(|n| done.contains(n)))
        });
        match ready {
            Some(i) => {
                let s = remaining[i].take().expect("present");
                done.insert(s.name.clone());
                out.push(s);
            }
            None => break,
        }
    }
    let left: Vec<String> = remaining.into_iter().flatten().map(|s| s.name).collect();
    if !left.is_empty() {
        return Err(ConfigError::at(
            file,
            None,
            format!(
                "the stages {} depend on each other in a cycle",
                left.join(", ")
            ),
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn substitution_keeps_types_and_reads_env_defaults() {
        let vars: BTreeMap<String, Yaml> =
            [("seed".to_string(), Yaml::from(42))].into_iter().collect();
        let mut v: Yaml = serde_yaml::from_str(
            "{a: '${seed}', b: 'x-${seed}', c: '${env:RECPIPE_SURELY_UNSET:-../data}'}",
        )
        .expect("yaml");
        substitute(&mut v, &vars).expect("ok");
        assert_eq!(v["a"], Yaml::from(42));
        assert_eq!(v["b"], Yaml::from("x-42"));
        assert_eq!(v["c"], Yaml::from("../data"));
        let mut bad: Yaml = Yaml::from("${sed}");
        assert!(
            substitute(&mut bad, &vars)
                .expect_err("undefined")
                .contains("did you mean `seed`")
        );
    }

    #[test]
    fn overrides_parse() {
        let o: Override = "train.factors=32".parse().expect("ok");
        assert_eq!(
            (o.stage.as_str(), o.path.clone(), o.value),
            ("train", vec!["factors".to_string()], Yaml::from(32))
        );
        assert!("train=3".parse::<Override>().is_err());
    }
}
