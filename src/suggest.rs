//! "Did you mean" for names a person may have mistyped.

/// The candidate closest to `name`, when one is close enough to be a likely typo.
pub(crate) fn closest<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let mut best: Option<(f64, &str)> = None;
    for cand in candidates {
        if cand == name {
            continue;
        }
        let score = strsim::jaro_winkler(name, cand);
        let close = score >= 0.8
            || strsim::damerau_levenshtein(name, cand) <= name.len().min(cand.len()) / 3;
        if close && best.is_none_or(|(b, _)| score > b) {
            best = Some((score, cand));
        }
    }
    best.map(|(_, c)| c)
}

/// `did you mean `x`?` as a help line, when there is a likely `x`.
pub(crate) fn did_you_mean<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<String> {
    closest(name, candidates).map(|c| format!("did you mean `{c}`?"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_typos() {
        assert_eq!(
            closest("depend_on", ["depends_on", "run", "id"]),
            Some("depends_on")
        );
        assert_eq!(closest("buld", ["build", "test"]), Some("build"));
        assert_eq!(closest("zzz", ["build", "test"]), None);
    }
}
