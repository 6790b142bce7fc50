//! recpipe cluster stage: K-means user segmentation (linfa-clustering) with segment profiles.
