//! recpipe train stage: matrix factorization (explicit ALS, SGD, implicit ALS) with evaluation.
