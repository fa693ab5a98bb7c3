# The one list of what the sandbox image contains (sourced by build_image.sh and the Dockerfile).
# Changing it changes the image tag, so `make sandbox-image` rebuilds.
SANDBOX_PACKAGES="python3 gcc g++ libc6-dev openjdk-17-jdk-headless nodejs golang-go rustc"
