#!/usr/bin/env sh
# Builds the image and tags it twice, as the seed does (a project name and a library name):
#   skycache:latest-node20 and skycache-service:latest-node20
# Usage (from anywhere): sh deploy/build.sh [extra docker build arguments, e.g. --network host]
set -eu
cd "$(dirname "$0")/.."
docker build -f deploy/Dockerfile -t skycache:latest-node20 -t skycache-service:latest-node20 "$@" .
