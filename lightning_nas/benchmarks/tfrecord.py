"""TFRecord framing and NAS-Bench-101's ``ModelMetrics`` protobuf, without TensorFlow.

A TFRecord file is a sequence of ``uint64 length | uint32 masked_crc32c(length) | data |
uint32 masked_crc32c(data)`` frames (little-endian). NAS-Bench-101 stores one training run per
record; ``data`` is a JSON list ``[module_hash, epochs, adjacency_bits, "op,op,...",
base64(ModelMetrics)]``. The ``ModelMetrics`` message class is built at run time from a
descriptor that mirrors ``nasbench/lib/model_metrics.proto``, so no generated code is needed.
"""

from __future__ import annotations

import base64
import json
import struct
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import google_crc32c
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

from lightning_nas.utils.errors import BenchmarkFileError

_HEADER = struct.Struct("<QI")
_FOOTER = struct.Struct("<I")


def masked_crc32c(data: bytes) -> int:
    """TFRecord's masked CRC32-C (rotated and offset so CRCs of CRCs stay well distributed)."""
    crc = google_crc32c.value(data)
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def read_records(path: Path, on_bytes: Callable[[int], None] | None = None) -> Iterator[bytes]:
    """Yield each record's payload, checking both CRCs; ``on_bytes(n)`` reports progress."""
    with open(path, "rb") as f:
        offset = 0
        while True:
            header = f.read(_HEADER.size)
            if not header:
                return
            if len(header) < _HEADER.size:
                raise BenchmarkFileError(f"{path}: truncated record header at byte {offset}")
            length, length_crc = _HEADER.unpack(header)
            if masked_crc32c(header[:8]) != length_crc:
                raise BenchmarkFileError(f"{path}: corrupt record length at byte {offset} (CRC mismatch)")
            body = f.read(length + _FOOTER.size)
            if len(body) < length + _FOOTER.size:
                raise BenchmarkFileError(f"{path}: truncated record at byte {offset} (file ends inside it)")
            data = body[:length]
            if masked_crc32c(data) != _FOOTER.unpack(body[length:])[0]:
                raise BenchmarkFileError(f"{path}: corrupt record data at byte {offset} (CRC mismatch)")
            offset += _HEADER.size + len(body)
            if on_bytes is not None:
                on_bytes(_HEADER.size + len(body))
            yield data


def nb101_record(module_hash: str, epochs: int, matrix: Sequence[Sequence[int]], ops: Sequence[str], metrics: Any) -> bytes:
    """One NAS-Bench-101 record payload as the official file stores it: the pruned ``matrix`` as a
    string of 0/1 digits, the op names comma-joined, ``metrics`` (a :data:`ModelMetrics`) base64-encoded.
    For exact-format files: test fixtures and full-size files for timing the reader."""
    bits = "".join(str(int(b)) for row in matrix for b in row)
    return json.dumps([module_hash, epochs, bits, ",".join(ops), base64.b64encode(metrics.SerializeToString()).decode()]).encode()


def write_records(path: Path, records: Iterable[bytes]) -> None:
    """Write payloads as a TFRecord file (used to make exact-format fixtures)."""
    with open(path, "wb") as f:
        for data in records:
            length = struct.pack("<Q", len(data))
            f.write(length + struct.pack("<I", masked_crc32c(length)))
            f.write(data + _FOOTER.pack(masked_crc32c(data)))


def _model_metrics_class() -> type:
    T = descriptor_pb2.FieldDescriptorProto
    proto = descriptor_pb2.FileDescriptorProto(name="nasbench/model_metrics.proto", package="nasbench", syntax="proto2")
    evaluation = proto.message_type.add(name="EvaluationData")
    for number, name in enumerate(
        ("current_epoch", "training_time", "train_accuracy", "validation_accuracy", "test_accuracy"), start=1
    ):
        evaluation.field.add(name=name, number=number, type=T.TYPE_DOUBLE, label=T.LABEL_OPTIONAL)
    evaluation.field.add(name="checkpoint_path", number=6, type=T.TYPE_STRING, label=T.LABEL_OPTIONAL)
    metrics = proto.message_type.add(name="ModelMetrics")
    metrics.field.add(
        name="evaluation_data", number=1, type=T.TYPE_MESSAGE, type_name=".nasbench.EvaluationData", label=T.LABEL_REPEATED
    )
    metrics.field.add(name="trainable_parameters", number=2, type=T.TYPE_INT32, label=T.LABEL_OPTIONAL)
    metrics.field.add(name="total_time", number=3, type=T.TYPE_DOUBLE, label=T.LABEL_OPTIONAL)
    pool = descriptor_pool.DescriptorPool()
    pool.Add(proto)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName("nasbench.ModelMetrics"))


ModelMetrics = _model_metrics_class()
