//! The features stage's parameters.

use serde::{Deserialize, Serialize};

use crate::error::{FeaturesError, Result};
use crate::tfidf::TfidfParams;

/// Groups of user feature columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UserGroup {
    /// One-hot gender, age, occupation, zip prefix, country.
    Demographics,
    /// log1p(count), mean and std of value, days since last interaction.
    Behaviour,
    /// Share of the user's interactions in each genre.
    Genres,
    /// Share of each event type.
    Events,
    /// Frequency (log1p active days) and monetary value (log1p sum of amount).
    Rfm,
}

impl UserGroup {
    /// The group's name in column metadata.
    pub fn name(self) -> &'static str {
        match self {
            UserGroup::Demographics => "demographics",
            UserGroup::Behaviour => "behaviour",
            UserGroup::Genres => "genres",
            UserGroup::Events => "events",
            UserGroup::Rfm => "rfm",
        }
    }
}

/// Item text fields that feed TF-IDF.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TextField {
    /// The title without its trailing `(year)`.
    Title,
    /// The genre names.
    Genres,
    /// Free text (descriptions, tags, comments).
    Text,
}

/// The `with:` block of a features stage.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FeaturesParams {
    /// User feature groups to build (groups the data cannot support are skipped).
    pub user_groups: Vec<UserGroup>,
    /// Groups whose columns are z-scored (mean and std saved in user_feature_names.json).
    pub standardize: Vec<UserGroup>,
    /// Leading characters of the zip code kept for its one-hot.
    pub zip_prefix_digits: usize,
    /// Item text fields that feed TF-IDF.
    pub text_fields: Vec<TextField>,
    /// TF-IDF settings (scikit-learn's defaults).
    pub tfidf: TfidfParams,
    /// Items a user valued at least this much make up their TF-IDF profile
    /// (default 4 for ratings, every interaction for events).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub profile_min_value: Option<f32>,
    /// Terms kept per user profile.
    pub profile_terms: usize,
    /// Genre columns kept, for users' genre shares and items' multi-hot:
    /// the genres of the most interactions, the rest pooled into one
    /// `(other)` column, so that a catalogue of thousands of categories
    /// does not make users x categories dense columns. TF-IDF and export
    /// still read every genre.
    pub max_genres: usize,
}

impl Default for FeaturesParams {
    fn default() -> Self {
        FeaturesParams {
            user_groups: vec![
                UserGroup::Demographics,
                UserGroup::Behaviour,
                UserGroup::Genres,
                UserGroup::Events,
                UserGroup::Rfm,
            ],
            standardize: vec![UserGroup::Behaviour, UserGroup::Rfm],
            zip_prefix_digits: 2,
            text_fields: vec![TextField::Title, TextField::Genres, TextField::Text],
            tfidf: TfidfParams::default(),
            profile_min_value: None,
            profile_terms: 20,
            max_genres: 50,
        }
    }
}

impl FeaturesParams {
    /// Parses and checks a `with:` block.
    pub fn from_yaml(with: &serde_yaml::Value) -> Result<Self> {
        let p: FeaturesParams =
            recpipe_core::params::from_with(with).map_err(FeaturesError::Params)?;
        p.tfidf.check().map_err(FeaturesError::Params)?;
        if p.zip_prefix_digits == 0 {
            return Err(FeaturesError::Params(
                "zip_prefix_digits must be positive".into(),
            ));
        }
        if p.max_genres == 0 {
            return Err(FeaturesError::Params(
                "max_genres must be positive (leave `genres` out of user_groups for no genre columns)"
                    .into(),
            ));
        }
        if p.profile_terms == 0 {
            return Err(FeaturesError::Params(
                "profile_terms must be positive".into(),
            ));
        }
        Ok(p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(yaml: &str) -> Result<FeaturesParams> {
        FeaturesParams::from_yaml(&serde_yaml::from_str(yaml).expect("yaml"))
    }

    #[test]
    fn counts_that_must_be_positive_are_checked() {
        assert_eq!(parse("{}").expect("defaults").max_genres, 50);
        assert_eq!(parse("{max_genres: 8}").expect("8").max_genres, 8);
        for (yaml, why) in [
            ("{max_genres: 0}", "max_genres must be positive"),
            (
                "{zip_prefix_digits: 0}",
                "zip_prefix_digits must be positive",
            ),
            ("{profile_terms: 0}", "profile_terms must be positive"),
        ] {
            let err = parse(yaml).expect_err(yaml);
            assert!(err.to_string().contains(why), "{yaml}: {err}");
        }
    }
}
