//! Names of the tables and columns stages hand to each other.
//!
//! A stage reads its upstream's files through these constants, never through
//! string literals, so a rename is one edit here.

/// `interactions.parquet`: one row per kept (user, item) interaction.
pub const INTERACTIONS_FILE: &str = "interactions.parquet";
/// `users.parquet`: one row per user, with demographics where known.
pub const USERS_FILE: &str = "users.parquet";
/// `items.parquet`: one row per item, with title, year, genres and text.
pub const ITEMS_FILE: &str = "items.parquet";
/// `rejects.parquet`: every raw row that was not kept, with its reason.
pub const REJECTS_FILE: &str = "rejects.parquet";
/// The hidden segment of each synthetic user (only for `source: synthetic`).
pub const TRUE_SEGMENTS_FILE: &str = "true_segments.parquet";

/// Dense user index, 0..n_users (u32).
pub const USER_IDX: &str = "user_idx";
/// Dense item index, 0..n_items (u32).
pub const ITEM_IDX: &str = "item_idx";
/// The user's id as written in the source (string).
pub const USER_ID: &str = "user_id";
/// The item's id as written in the source (string).
pub const ITEM_ID: &str = "item_id";
/// Rating, or summed event weight (f32).
pub const VALUE: &str = "value";
/// Unix seconds (i64).
pub const TS: &str = "ts";
/// Event type (dictionary string; null for ratings).
pub const EVENT: &str = "event";
/// Summed quantity (f64), where the source has one.
pub const QUANTITY: &str = "quantity";
/// Summed quantity x price (f64), where the source has them.
pub const AMOUNT: &str = "amount";

/// User demographic columns (nullable strings).
pub const GENDER: &str = "gender";
/// Age or age band as written in the source.
pub const AGE: &str = "age";
/// Occupation code or name.
pub const OCCUPATION: &str = "occupation";
/// Zip / postal code.
pub const ZIP: &str = "zip";
/// Country.
pub const COUNTRY: &str = "country";
/// The demographic columns in their fixed order.
pub const DEMOGRAPHICS: [&str; 5] = [GENDER, AGE, OCCUPATION, ZIP, COUNTRY];

/// Item title (string, nullable).
pub const TITLE: &str = "title";
/// Release year parsed from the title (i32, nullable).
pub const YEAR: &str = "year";
/// Genres (list of strings).
pub const GENRES: &str = "genres";
/// Free text (nullable): description, tags, comments.
pub const TEXT: &str = "text";

/// Planted segment of a synthetic user (u16).
pub const TRUE_SEGMENT: &str = "true_segment";
