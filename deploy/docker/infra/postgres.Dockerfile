# PostgreSQL 15 from Debian's package, on the debootstrap base. For the compose stack only:
# trust authentication inside the compose network (its port is published on 127.0.0.1 only).
ARG BASE_IMAGE=localhost/beacon-base:bookworm
FROM ${BASE_IMAGE}
RUN apt-get update -qq \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql-15 \
    && rm -rf /var/lib/apt/lists/* \
    && mkdir -p /var/lib/postgresql/data /run/postgresql \
    && chown -R postgres:postgres /var/lib/postgresql /run/postgresql
COPY --chmod=0755 postgres-entry.sh /usr/local/bin/postgres-entry
ENV PATH=/usr/lib/postgresql/15/bin:$PATH PGDATA=/var/lib/postgresql/data
USER postgres
CMD ["/usr/local/bin/postgres-entry"]
