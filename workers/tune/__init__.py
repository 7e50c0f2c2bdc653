"""The tuner: search spaces, candidate screening by the on-device estimate, search strategies
and one trial's computation. Pure (no database, no broker, no web); TensorFlow is imported
inside the functions that train or convert."""
