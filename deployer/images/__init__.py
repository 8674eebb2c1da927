"""Images: content-addressed builds, host-downloaded wheelhouses, offline base images."""
