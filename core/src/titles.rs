//! Item titles: the release year MovieLens writes at their end.

/// The release year at the end of a MovieLens title, e.g. `Heat (1995)`;
/// for a series, the year it began: `The Big Bang Theory (2007-)`,
/// `Black Mirror (2011– )`, `Cosmos (1980-1981)`.
pub fn year_from_title(title: &str) -> Option<i32> {
    split_title_year(title).map(|(_, year)| year)
}

/// A title without its trailing year (see [`year_from_title`]), trimmed;
/// a title without one, as it is but for trailing spaces.
pub fn title_without_year(title: &str) -> &str {
    split_title_year(title).map_or(title.trim_end(), |(stem, _)| stem)
}

/// A title's words before its trailing `(year)`, and the year.
fn split_title_year(title: &str) -> Option<(&str, i32)> {
    let t = title.trim_end();
    let inner = t.strip_suffix(')')?;
    let open = inner.rfind('(')?;
    let within = inner[open + 1..].trim();
    let four_digits = |s: &str| s.len() == 4 && s.bytes().all(|b| b.is_ascii_digit());
    let (year, rest) = within.split_at_checked(4)?;
    let until = rest.trim_start().strip_prefix(['-', '–']);
    let ok = match until.map(str::trim) {
        None => rest.is_empty(),
        Some(end) => end.is_empty() || four_digits(end),
    };
    if !(ok && four_digits(year)) {
        return None;
    }
    Some((inner[..open].trim_end(), year.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn years_from_titles() {
        assert_eq!(year_from_title("Heat (1995)"), Some(1995));
        assert_eq!(
            year_from_title("City of Lost Children, The (Cité des enfants perdus, La) (1995) "),
            Some(1995)
        );
        assert_eq!(year_from_title("Babylon 5"), None);
        // Series: the year they began.
        assert_eq!(year_from_title("The Big Bang Theory (2007-)"), Some(2007));
        assert_eq!(year_from_title("Black Mirror (2011– )"), Some(2011));
        assert_eq!(year_from_title("Cosmos (1980-1981)"), Some(1980));
        // Not a year, or not a range.
        for title in [
            "Se7en (199)",
            "1984 (19845)",
            "Heat (1995 remake)",
            "Decade (1990-99)",
            "Up (-1995)",
            "Her (1995-2000-)",
            "Ünïcode (€)",
        ] {
            assert_eq!(year_from_title(title), None, "{title}");
        }
        assert_eq!(
            year_from_title("Marlene Dietrich: Shadow and Light (1996) "),
            Some(1996)
        );
        assert_eq!(title_without_year("Heat (1995)"), "Heat");
        assert_eq!(title_without_year("Black Mirror (2011– ) "), "Black Mirror");
        assert_eq!(
            title_without_year("Heat (director's cut) "),
            "Heat (director's cut)"
        );
        assert_eq!(title_without_year("Babylon 5"), "Babylon 5");
    }
}
