# RabbitMQ from Debian's package (3.10: quorum queues), on the debootstrap base: no registry
# image can be pulled here. For the compose stack, not for production (use a managed broker
# or the RabbitMQ Cluster Operator there).
ARG BASE_IMAGE=localhost/beacon-base:bookworm
FROM ${BASE_IMAGE}
RUN apt-get update -qq \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends rabbitmq-server \
    && rm -rf /var/lib/apt/lists/*
# guest may connect from other containers (the compose network only; never published widely).
RUN printf 'loopback_users = none\nlisteners.tcp.default = 5672\n' > /etc/rabbitmq/rabbitmq.conf
USER rabbitmq
CMD ["rabbitmq-server"]
