"""The sandbox image's recipe: Dockerfile, offline builder, package list, Docker bootstrap."""
