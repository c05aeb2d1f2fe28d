# Redis from Debian's package, on the debootstrap base. For the compose stack only.
ARG BASE_IMAGE=localhost/beacon-base:bookworm
FROM ${BASE_IMAGE}
RUN apt-get update -qq \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends redis-server \
    && rm -rf /var/lib/apt/lists/*
USER redis
# No persistence: job status and frames are short-lived and the stack is for trying things.
CMD ["redis-server", "--bind", "0.0.0.0", "--protected-mode", "no", "--save", "", "--appendonly", "no"]
