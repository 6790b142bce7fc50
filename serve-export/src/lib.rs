//! recpipe serve-export stage: top-N, similar items, also-liked, segment lists, embeddings and a manifest, and the queries that read them.
