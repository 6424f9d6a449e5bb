"""Generated protobuf packages of Mometrics; see protos/ for the sources."""
