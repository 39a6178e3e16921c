//! `strategy.matrix`, expanded as GitHub expands it: the product of its lists in the order
//! written, less `exclude`, with `include` added to the combinations it does not contradict
//! or as combinations of its own.

use crate::load::node::{Node, Value};

/// One combination: each matrix key with its value, in the order GitHub gives them.
pub(crate) type Combination = Vec<(String, Node)>;

/// GitHub's own limit on the combinations of one job.
const MAX: usize = 256;

/// The combinations of a job's `strategy.matrix`.
pub(crate) fn expand(matrix: &Node) -> Result<Vec<Combination>, String> {
    let Some(entries) = matrix.as_map() else {
        return Err(
            "the matrix is computed by an expression, which only GitHub can evaluate".into(),
        );
    };
    let mut combos: Vec<Combination> = vec![Vec::new()];
    for (key, values) in entries {
        if key.name == "include" || key.name == "exclude" {
            continue;
        }
        let Value::List(values) = &values.value else {
            return Err(format!(
                "matrix `{}` is not a list (an expression only GitHub can evaluate?)",
                key.name
            ));
        };
        combos = combos
            .iter()
            .flat_map(|c| values.iter().map(move |v| with(c, &key.name, v)))
            .collect();
        if combos.len() > MAX {
            return Err(format!("the matrix has more than {MAX} combinations"));
        }
    }
    let original: Vec<String> = combos
        .first()
        .map(|c| c.iter().map(|(k, _)| k.clone()).collect())
        .unwrap_or_default();
    if let Some(exclude) = matrix.get("exclude") {
        let exclude = entries_of(exclude, "exclude")?;
        // GitHub refuses an `exclude` naming a key the matrix has not: it would match nothing.
        if let Some((k, _)) = exclude
            .iter()
            .flat_map(|e| e.iter())
            .find(|(k, _)| !original.contains(&k.name))
        {
            return Err(format!(
                "matrix `exclude` names `{}`, which is not a key of the matrix",
                k.name
            ));
        }
        combos.retain(|c| !exclude.iter().any(|e| matches(c, e)));
    }
    if original.is_empty() {
        combos.clear();
    }
    // An `include` extends the combinations of the lists, never one an `include` made.
    let from_lists = combos.len();
    if let Some(include) = matrix.get("include") {
        for entry in entries_of(include, "include")? {
            add(&mut combos, from_lists, &original, entry);
        }
    }
    if combos.is_empty() {
        return Err("the matrix has no combinations".into());
    }
    if combos.len() > MAX {
        return Err(format!("the matrix has more than {MAX} combinations"));
    }
    Ok(combos)
}

fn with(combo: &Combination, key: &str, value: &Node) -> Combination {
    let mut out = combo.clone();
    out.push((key.to_string(), value.clone()));
    out
}

/// The maps of an `include` or `exclude` list.
fn entries_of<'a>(
    list: &'a Node,
    what: &str,
) -> Result<Vec<&'a [(crate::load::node::Key, Node)]>, String> {
    let Value::List(items) = &list.value else {
        return Err(format!("matrix `{what}` is not a list"));
    };
    items
        .iter()
        .map(|i| {
            i.as_map()
                .ok_or_else(|| format!("an item of matrix `{what}` is not a map"))
        })
        .collect()
}

/// Whether a combination has every value of `entry` (a partial match, as `exclude` is).
fn matches(combo: &Combination, entry: &[(crate::load::node::Key, Node)]) -> bool {
    entry
        .iter()
        .all(|(k, v)| combo.iter().any(|(ck, cv)| *ck == k.name && same(cv, v)))
}

/// Adds an `include` entry: to every combination of the lists (the first `from_lists`) whose
/// original values it does not change (overwriting values added by an earlier `include`), or
/// else as a combination of its own.
fn add(
    combos: &mut Vec<Combination>,
    from_lists: usize,
    original: &[String],
    entry: &[(crate::load::node::Key, Node)],
) {
    let fits = |combo: &Combination| {
        entry.iter().all(|(k, v)| {
            !original.contains(&k.name) || combo.iter().any(|(ck, cv)| *ck == k.name && same(cv, v))
        })
    };
    let mut added = false;
    for combo in combos[..from_lists].iter_mut().filter(|c| fits(c)) {
        for (k, v) in entry {
            match combo.iter_mut().find(|(ck, _)| *ck == k.name) {
                Some((_, cv)) => *cv = v.clone(),
                None => combo.push((k.name.clone(), v.clone())),
            }
        }
        added = true;
    }
    if !added {
        combos.push(
            entry
                .iter()
                .map(|(k, v)| (k.name.clone(), v.clone()))
                .collect(),
        );
    }
}

/// Whether two values are equal, maps and lists item by item.
fn same(a: &Node, b: &Node) -> bool {
    match (&a.value, &b.value) {
        (Value::List(x), Value::List(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| same(p, q))
        }
        (Value::Map(x), Value::Map(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.iter().any(|(l, w)| k.name == l.name && same(v, w)))
        }
        (Value::Null, Value::Null) => true,
        _ => a.scalar_text().is_some() && a.scalar_text() == b.scalar_text(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::SourceFile;

    fn combos(yaml: &str) -> Vec<String> {
        let source = SourceFile::new(std::path::Path::new("m.yml"), yaml.to_string());
        let node = crate::load::yaml::parse(&source).unwrap();
        expand(&node)
            .unwrap()
            .iter()
            .map(|c| {
                c.iter()
                    .map(|(k, v)| format!("{k}={}", v.scalar_text().unwrap_or("{}")))
                    .collect::<Vec<_>>()
                    .join(",")
            })
            .collect()
    }

    #[test]
    fn lists_multiply_in_the_order_written() {
        assert_eq!(
            combos("os: [a, b]\nrust: [1, 2]\n"),
            ["os=a,rust=1", "os=a,rust=2", "os=b,rust=1", "os=b,rust=2"]
        );
    }

    #[test]
    fn exclude_removes_partial_matches_and_include_extends_or_adds() {
        let yaml = "os: [a, b]\nrust: [stable, nightly]\nexclude:\n  - os: b\n    rust: nightly\ninclude:\n  - rust: nightly\n    experimental: true\n  - os: c\n    rust: stable\n";
        assert_eq!(
            combos(yaml),
            [
                "os=a,rust=stable",
                "os=a,rust=nightly,experimental=true",
                "os=b,rust=stable",
                "os=c,rust=stable"
            ]
        );
    }

    #[test]
    fn githubs_own_example_expands_as_documented() {
        let yaml = "fruit: [apple, pear]\nanimal: [cat, dog]\ninclude:\n  - color: green\n  - color: pink\n    animal: cat\n  - fruit: apple\n    shape: circle\n  - fruit: banana\n  - fruit: banana\n    animal: cat\n";
        assert_eq!(
            combos(yaml),
            [
                "fruit=apple,animal=cat,color=pink,shape=circle",
                "fruit=apple,animal=dog,color=green,shape=circle",
                "fruit=pear,animal=cat,color=pink",
                "fruit=pear,animal=dog,color=green",
                "fruit=banana",
                "fruit=banana,animal=cat",
            ]
        );
    }

    #[test]
    fn include_alone_gives_its_own_combinations() {
        assert_eq!(
            combos("include:\n  - target: x\n  - target: y\n    cross: true\n"),
            ["target=x", "target=y,cross=true"]
        );
    }
}
