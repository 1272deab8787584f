"""Prometheus metrics of one server process, served at `GET /metrics`."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

CONNECTED_SOCKETS = Gauge("pipechat_connected_sockets", "Socket.IO connections on /chats")
MESSAGES_RECEIVED = Counter("pipechat_messages_received_total",
                            "send_message events accepted for saving")
MESSAGES_SAVED = Counter("pipechat_messages_saved_total", "messages committed (new rows)")
MESSAGES_DELIVERED = Counter("pipechat_messages_delivered_total",
                             "receive_message emits handed to the client manager, per room")
ERRORS = Counter("pipechat_errors_total", "errors reported to clients, by code", ["code"])
SEND_TO_COMMIT = Histogram(
    "pipechat_send_commit_seconds", "time from accepting a message to its commit",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)
BATCH_SECONDS = Histogram(
    "pipechat_commit_batch_seconds", "time to write and commit one batch (from the loop)",
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0),
)
BATCH_SIZE = Histogram("pipechat_commit_batch_size", "messages per group commit",
                       buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256, 512))
DATABASE_UP = Gauge("pipechat_database_up", "1 when the database answered the last probe")
REDIS_UP = Gauge("pipechat_redis_up", "1 when Redis answered the last probe (absent: no Redis)")
PUBSUB_RECEIVED = Counter(
    "pipechat_pubsub_received_total",
    "messages this process read from Redis pub/sub, by origin (self: its own, skipped)",
    ["origin"])
PUBSUB_PUBLISHED = Counter("pipechat_pubsub_published_total",
                           "messages this process published to Redis pub/sub")
PUBSUB_BATCH_SIZE = Histogram("pipechat_pubsub_publish_batch_size",
                              "messages per pipeline (one round trip) published to Redis",
                              buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096))
PUBSUB_DROPPED = Counter("pipechat_pubsub_dropped_total",
                         "messages never published: the outbox was full (oldest dropped)")
PUBSUB_CHANNELS = Gauge("pipechat_pubsub_channels",
                        "Redis pub/sub channels this process is subscribed to")
