//! recpipe features stage: one-hot / multi-hot user and item features, behaviour profiles and TF-IDF.
