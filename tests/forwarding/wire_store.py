"""The embedded store (mongomock) served over the MongoDB wire protocol, for tests only.

The SIGKILL test needs a store that outlives the worker process it kills, which the in-process
embedded store cannot be. This serves one mongomock client on 127.0.0.1 so that pymongo in any
process can use it as `mongodb://127.0.0.1:<port>`: the handshake (OP_QUERY and OP_MSG) and the
commands the LRS and `lrs copy-to-mongodb` send (find, insert, update, delete, findAndModify (update
or replace), aggregate, createIndexes, dropIndexes, listIndexes, listCollections, dropDatabase),
each run under one lock. Every result set is answered in the first batch. It is a
test fixture, not a MongoDB: CI with LRS_TEST_MONGO_URI runs the same test on a real server.
"""
from __future__ import annotations

import datetime as dt
import socketserver
import struct
import threading
from typing import Any

import bson
import mongomock
from bson.codec_options import CodecOptions
from pymongo.errors import BulkWriteError, DuplicateKeyError, OperationFailure

from tests.background_server import BackgroundServer

OP_REPLY, OP_QUERY, OP_MSG = 1, 2004, 2013
CODEC = CodecOptions(tz_aware=True)
HELLO = {"ismaster": True, "isWritablePrimary": True, "helloOk": True, "maxWireVersion": 21, "minWireVersion": 0,
         "maxBsonObjectSize": 16 * 1024 * 1024, "maxMessageSizeBytes": 48_000_000, "maxWriteBatchSize": 100_000}


class WireStore(BackgroundServer):
    def __init__(self) -> None:
        self.client = mongomock.MongoClient(tz_aware=True)
        self.lock = threading.RLock()
        store = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                store._serve(self.request)

        server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        super().__init__(server)
        self.uri = f"mongodb://127.0.0.1:{server.server_address[1]}/?directConnection=true"

    def _serve(self, sock: Any) -> None:
        while True:
            header = _read(sock, 16)
            if header is None:
                return
            length, request_id, _, opcode = struct.unpack("<iiii", header)
            body = _read(sock, length - 16)
            if body is None:
                return
            if opcode == OP_QUERY:
                reply = self._op_query(body)
                payload = struct.pack("<iqii", 0, 0, 0, 1) + bson.encode(reply)
                sock.sendall(struct.pack("<iiii", 16 + len(payload), 0, request_id, OP_REPLY) + payload)
            elif opcode == OP_MSG:
                payload = struct.pack("<I", 0) + b"\x00" + bson.encode(self._op_msg(body))
                sock.sendall(struct.pack("<iiii", 16 + len(payload), 0, request_id, OP_MSG) + payload)
            else:
                return

    def _op_query(self, body: bytes) -> dict:
        end = body.index(b"\x00", 4)
        query = bson.decode(body[end + 9:end + 9 + struct.unpack("<i", body[end + 9:end + 13])[0]], CODEC)
        return self._command(query, body[4:end].decode().split(".")[0])

    def _op_msg(self, body: bytes) -> dict:
        flags, position = struct.unpack("<I", body[:4])[0], 4
        end = len(body) - (4 if flags & 1 else 0)
        command: dict = {}
        while position < end:
            kind = body[position]
            position += 1
            size = struct.unpack("<i", body[position:position + 4])[0]
            if kind == 0:
                command.update(bson.decode(body[position:position + size], CODEC))
            else:
                name_end = body.index(b"\x00", position + 4)
                name = body[position + 4:name_end].decode()
                command[name] = list(bson.decode_all(body[name_end + 1:position + size], CODEC))
            position += size
        return self._command(command, command.get("$db", "admin"))

    def _command(self, command: dict, db_name: str) -> dict:
        name = next(iter(command))
        try:
            with self.lock:
                return {**self._run(name, command, self.client[db_name]), "ok": 1.0}
        except OperationFailure as error:
            return {"ok": 0.0, "errmsg": str(error), "code": error.code or 8000}

    def _run(self, name: str, cmd: dict, db: Any) -> dict:
        if name.lower() in ("ismaster", "hello"):
            return {**HELLO, "localTime": dt.datetime.now(dt.timezone.utc)}
        if name in ("ping", "buildInfo", "buildinfo", "endSessions", "killCursors", "getLastError"):
            return {"version": "7.0.0"} if name.lower() == "buildinfo" else {}
        if name == "dropDatabase":
            self.client.drop_database(db.name)
            return {}
        if name == "listCollections":
            return {"cursor": {"id": bson.int64.Int64(0), "ns": f"{db.name}.$cmd.listCollections", "firstBatch": [
                {"name": collection, "type": "collection"} for collection in db.list_collection_names()]}}
        collection = db[cmd[name]]
        return getattr(self, "_" + name)(collection, cmd)

    def _find(self, collection: Any, cmd: dict) -> dict:
        cursor = collection.find(cmd.get("filter", {}), cmd.get("projection"))
        if cmd.get("sort"):
            cursor = cursor.sort(list(cmd["sort"].items()))
        if cmd.get("skip"):
            cursor = cursor.skip(cmd["skip"])
        if cmd.get("limit"):
            cursor = cursor.limit(abs(cmd["limit"]))
        return _cursor(collection, list(cursor))

    def _aggregate(self, collection: Any, cmd: dict) -> dict:
        return _cursor(collection, list(collection.aggregate(cmd["pipeline"])))

    def _insert(self, collection: Any, cmd: dict) -> dict:
        try:
            collection.insert_many(cmd["documents"], ordered=cmd.get("ordered", True))
        except BulkWriteError as error:
            return {"n": error.details.get("nInserted", 0), "writeErrors": [
                {"index": e["index"], "code": e["code"], "errmsg": e.get("errmsg", "duplicate key")}
                for e in error.details.get("writeErrors", [])]}
        return {"n": len(cmd["documents"])}

    def _update(self, collection: Any, cmd: dict) -> dict:
        matched = modified = 0
        upserted, errors = [], []
        for index, spec in enumerate(cmd["updates"]):
            method = collection.update_many if spec.get("multi") else collection.update_one
            try:
                result = method(spec["q"], spec["u"], upsert=spec.get("upsert", False))
            except DuplicateKeyError as error:
                errors.append({"index": index, "code": 11000, "errmsg": str(error)})
                continue
            matched, modified = matched + result.matched_count, modified + result.modified_count
            if result.upserted_id is not None:
                upserted.append({"index": index, "_id": result.upserted_id})
        reply: dict = {"n": matched + len(upserted), "nModified": modified}
        if upserted:
            reply["upserted"] = upserted
        if errors:
            reply["writeErrors"] = errors
        return reply

    def _delete(self, collection: Any, cmd: dict) -> dict:
        deleted = 0
        for spec in cmd["deletes"]:
            method = collection.delete_one if spec.get("limit") == 1 else collection.delete_many
            deleted += method(spec["q"]).deleted_count
        return {"n": deleted}

    def _findAndModify(self, collection: Any, cmd: dict) -> dict:  # noqa: N802 - the command's name
        if cmd.get("remove"):
            removed = collection.find_one_and_delete(cmd.get("query", {}), projection=cmd.get("fields"))
            return {"value": removed, "lastErrorObject": {"n": 1 if removed else 0}}
        before = collection.find_one(cmd.get("query", {}))
        replaces = not any(key.startswith("$") for key in cmd["update"])
        method = collection.find_one_and_replace if replaces else collection.find_one_and_update
        value = method(
            cmd.get("query", {}), cmd["update"], projection=cmd.get("fields"), upsert=cmd.get("upsert", False),
            sort=list(cmd["sort"].items()) if cmd.get("sort") else None,
            return_document=cmd.get("new", False))
        return {"value": value, "lastErrorObject": {"n": 1 if value or before else 0,
                                                    "updatedExisting": before is not None}}

    def _createIndexes(self, collection: Any, cmd: dict) -> dict:  # noqa: N802 - the command's name
        for index in cmd["indexes"]:
            options = {key: index[key] for key in ("unique", "sparse", "name", "expireAfterSeconds",
                                                   "partialFilterExpression") if key in index}
            collection.create_index(list(index["key"].items()), **options)
        return {}

    def _dropIndexes(self, collection: Any, cmd: dict) -> dict:  # noqa: N802 - the command's name
        collection.drop_index(cmd["index"])
        return {}

    def _listIndexes(self, collection: Any, cmd: dict) -> dict:  # noqa: N802 - the command's name
        return _cursor(collection, [{**index, "name": name, "key": dict(index["key"])}
                                    for name, index in collection.index_information().items()])


def _cursor(collection: Any, documents: list[dict]) -> dict:
    return {"cursor": {"id": bson.int64.Int64(0), "ns": collection.full_name, "firstBatch": documents}}


def _read(sock: Any, count: int) -> bytes | None:
    data = bytearray()
    while len(data) < count:
        chunk = sock.recv(count - len(data))
        if not chunk:
            return None
        data += chunk
    return bytes(data)
