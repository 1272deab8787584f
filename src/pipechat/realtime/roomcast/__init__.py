"""Per-room Redis pub/sub between the processes of one deployment (see docs/scaling.md).

A process subscribes to the channel of a room only while one of its sockets is in it, so it
receives only the traffic of the rooms it hosts; `RoomcastManager` is the python-socketio
client manager that does it.
"""
