#!/usr/bin/env python3
"""A stand-in for systemd's notify socket in tests: binds a unix datagram socket (a path, or an
abstract name given as @name), prints each datagram received as one JSON line, runs until killed."""
import json
import socket
import sys

name = sys.argv[1]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind("\0" + name[1:] if name.startswith("@") else name)
print(json.dumps({"listening": name}), flush=True)
while True:
    data = s.recv(65536)
    print(json.dumps({"datagram": data.decode("utf-8", "replace")}), flush=True)
