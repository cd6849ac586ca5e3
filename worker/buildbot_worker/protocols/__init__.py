"""The transports a worker can talk to its master over, besides PB."""

#: the name of the msgpack-over-WebSocket protocol, as configured on both sides
MSGPACK = "msgpack_experimental_v7"
