//! A stage's `with:` block read into its typed parameters.
//!
//! serde's own errors say what was wrong (`invalid type: string "x",
//! expected u64`) but not where: with two keys of a block wrong, or a key
//! nested in another (`split: {fraction: ...}`), the runner could only
//! guess which line to point at. [`from_with`] records the path of the
//! value being read, so every error starts with the key it is about.

use serde::de::DeserializeOwned;

/// Reads a `with:` block into `T`: the defaults when the block is empty
/// (`with:` left out or null). An error starts with the path of the value
/// it is about in backticks (`` `split.fraction`: invalid type: ... ``;
/// `` `columns.user` ``; `` `k_range[1]` ``), which the runner also uses to
/// point at that key's line.
pub fn from_with<T: DeserializeOwned + Default>(with: &serde_yaml::Value) -> Result<T, String> {
    if with.is_null() {
        return Ok(T::default());
    }
    if let Some((path, value)) = non_finite(with, String::new()) {
        // No setting means anything by them, and a fingerprint cannot
        // hold them (JSON has no NaN): refused by name, as a type error.
        return Err(format!("`{path}`: {value} is not a finite number"));
    }
    serde_path_to_error::deserialize(with.clone()).map_err(|e| {
        // serde_path_to_error writes `split.fraction`, `k_range[1]`, and `.`
        // for the block itself.
        let path = e.path().to_string();
        let message = plain_words(&e.into_inner().to_string());
        // An unknown key is the block's error: its own name ends the path.
        let path = match message.starts_with("unknown field") {
            true => path.rsplit_once('.').map_or("", |(block, _)| block),
            false => path.as_str(),
        };
        match path {
            "" | "." => message,
            path => format!("`{path}`: {message}"),
        }
    })
}

/// The path (as [`from_with`] writes it) and text of the first NaN or
/// infinity in `value`, if any.
fn non_finite(value: &serde_yaml::Value, path: String) -> Option<(String, String)> {
    let key = |k: &str| match path.is_empty() {
        true => k.to_string(),
        false => format!("{path}.{k}"),
    };
    match value {
        serde_yaml::Value::Number(n) => n
            .as_f64()
            .filter(|v| !v.is_finite())
            .map(|v| (path, format!("{v}"))),
        serde_yaml::Value::Sequence(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, v)| non_finite(v, format!("{path}[{i}]"))),
        serde_yaml::Value::Mapping(map) => map.iter().find_map(|(k, v)| {
            let name = match k {
                serde_yaml::Value::String(k) => k.clone(),
                other => serde_yaml::to_string(other)
                    .unwrap_or_default()
                    .trim()
                    .to_string(),
            };
            non_finite(v, key(&name))
        }),
        serde_yaml::Value::Tagged(t) => non_finite(&t.value, path),
        _ => None,
    }
}

/// What serde calls the types a value may have, in a YAML writer's words
/// (`expected u32` is `expected a whole number from 0 to 4294967295`).
const PLAIN_TYPES: &[(&str, &str)] = &[
    ("a Value::Tagged enum", "one of its names"),
    ("variant identifier", "one of its names"),
    ("u8", "a whole number from 0 to 255"),
    ("u16", "a whole number from 0 to 65535"),
    ("u32", "a whole number from 0 to 4294967295"),
    ("u64", "a whole number, 0 or more"),
    ("usize", "a whole number, 0 or more"),
    ("i32", "a whole number"),
    ("i64", "a whole number"),
    ("f32", "a number"),
    ("f64", "a number"),
    ("a boolean", "true or false"),
    ("a sequence", "a list"),
    ("a map", "a mapping of keys to values"),
];

/// serde's error in a YAML writer's words: the types it expected as
/// [`PLAIN_TYPES`] says, and a nested block (`expected struct
/// TfidfParams`, `expected internally tagged enum SplitSpec`) as a mapping.
fn plain_words(message: &str) -> String {
    const EXPECTED: &str = "expected ";
    let Some(at) = message.rfind(EXPECTED) else {
        return message.to_string();
    };
    let (head, what) = message.split_at(at + EXPECTED.len());
    if let Some(&(_, plain)) = PLAIN_TYPES.iter().find(|(t, _)| *t == what) {
        return format!("{head}{plain}");
    }
    let named = |prefix: &str| {
        what.strip_prefix(prefix)
            .is_some_and(|name| !name.contains(' '))
    };
    if named("struct ") || named("internally tagged enum ") {
        return format!("{head}a mapping of keys to values");
    }
    match what.strip_prefix("an array of length ") {
        Some(n) => format!("{head}a list of {n} values"),
        None => message.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Default, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields, default)]
    struct Params {
        n: u32,
        split: Split,
        policy: Policy,
        range: [u32; 2],
        holdout: Holdout,
    }

    #[derive(Debug, Default, Deserialize, PartialEq)]
    #[serde(tag = "kind", rename_all = "snake_case")]
    enum Holdout {
        #[default]
        None,
        Random,
    }

    #[derive(Debug, Default, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields, default)]
    struct Split {
        fraction: f64,
    }

    #[derive(Debug, Default, Deserialize, PartialEq)]
    #[serde(rename_all = "snake_case")]
    enum Policy {
        #[default]
        Last,
        Sum,
    }

    fn read(yaml: &str) -> Result<Params, String> {
        from_with(&serde_yaml::from_str(yaml).expect("yaml"))
    }

    #[test]
    fn an_empty_block_gives_the_defaults_and_values_are_read() {
        assert_eq!(read("~"), Ok(Params::default()));
        let p = read("{n: 3, split: {fraction: 0.5}, policy: sum, range: [1, 2]}").expect("ok");
        assert_eq!(
            (p.n, p.split.fraction, p.policy, p.range),
            (3, 0.5, Policy::Sum, [1, 2])
        );
    }

    #[test]
    fn errors_start_with_the_path_of_the_wrong_value() {
        let starts = |yaml: &str, path: &str| {
            let e = read(yaml).expect_err(yaml);
            assert!(e.starts_with(&format!("`{path}`: ")), "{yaml}: {e}");
            e
        };
        // The first wrong key of the block, not the first key.
        let e = starts("{range: [1, 2], n: x}", "n");
        assert!(
            e.ends_with("expected a whole number from 0 to 4294967295"),
            "{e}"
        );
        let e = starts("{split: {fraction: high}}", "split.fraction");
        assert!(e.ends_with("expected a number"), "{e}");
        let e = starts("{split: 0.5}", "split");
        assert!(e.ends_with("expected a mapping of keys to values"), "{e}");
        starts("{range: [1, -2]}", "range[1]");
        let e = starts("{range: 5}", "range");
        assert!(e.ends_with("expected a list of 2 values"), "{e}");
        let e = starts("{policy: 1}", "policy");
        assert!(e.ends_with("expected one of its names"), "{e}");
        let e = starts("{holdout: {kind: [1]}}", "holdout.kind");
        assert!(e.ends_with("expected one of its names"), "{e}");
        let e = starts("{holdout: 5}", "holdout");
        assert!(e.ends_with("expected a mapping of keys to values"), "{e}");
        let e = starts("{policy: first}", "policy");
        assert!(e.contains("`last`") && e.contains("`sum`"), "{e}");
        // An unknown key is reported at the block that does not know it.
        let e = read("{split: {fractoin: 0.5}}").expect_err("unknown");
        assert!(e.starts_with("`split`: unknown field `fractoin`"), "{e}");
        let e = read("{nn: 3}").expect_err("unknown");
        assert!(e.starts_with("unknown field `nn`"), "{e}");
        // NaN and infinities, wherever they sit, before any type check.
        let e = starts("{split: {fraction: .nan}}", "split.fraction");
        assert!(e.ends_with("NaN is not a finite number"), "{e}");
        let e = starts("{n: 2, range: [1, -.inf]}", "range[1]");
        assert!(e.ends_with("-inf is not a finite number"), "{e}");
        starts("{nn: .inf}", "nn");
    }
}
