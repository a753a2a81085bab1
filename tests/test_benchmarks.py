import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from lightning_nas.benchmarks import NB101Benchmark, NB201Benchmark, NATSSizeBenchmark, create
from lightning_nas.utils import cache
from lightning_nas.benchmarks.tfrecord import ModelMetrics, nb101_record, write_records
from lightning_nas.utils.errors import BenchmarkFileError, InvalidArchitecture, UnknownMetric
from lightning_nas.proxies import build_network
from lightning_nas.spaces import NB101Space

from test_spaces import INCEPTION


def test_nb101_full_space(nb101):
    assert len(nb101) == 423_624
    assert nb101.metrics == sorted(nb101.metrics)
    acc = nb101.column("test_acc_run0")
    assert 0 < np.nanmin(acc) and np.nanmax(acc) < 100  # percent, not fraction
    assert np.isfinite(nb101.column("val_acc_single_run")).sum() == 30_001
    # the compact table has no mean-of-3 test accuracy: asking for it is an error, not a guess
    # and the error names the metrics there are, as the user passes them (metric, epochs)
    with pytest.raises(UnknownMetric, match=r"no metric 'test_acc' for cifar10; .*test_acc_run0 \(epochs 108\), .*val_acc_single_run \(epochs 4, 12, 36, 108\)"):
        nb101.query(INCEPTION, metric="test_acc")


def test_nb101_missing_value_is_an_error_not_nan(nb101):
    row = int(np.flatnonzero(np.isnan(nb101.column("val_acc_single_run")))[0])
    with pytest.raises(UnknownMetric, match="not available"):
        nb101.query(nb101.arch(row), metric="val_acc_single_run")


def test_nb201_optima(nb201):
    assert len(nb201) == 15_625
    best = {ds: nb201.column("test_acc", ds).max() for ds in ("cifar10", "cifar100", "ImageNet16-120")}
    assert best == pytest.approx({"cifar10": 94.37, "cifar100": 73.51, "ImageNet16-120": 47.31}, abs=0.005)
    assert nb201.query("|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|", "cifar10") == pytest.approx(94.37, abs=0.01)
    assert nb201.query(6111, "cifar10-valid", "val_acc") == pytest.approx(91.6067, abs=1e-3)
    assert nb201.query(6111, "cifar10", "test_acc", epochs=12) < 90  # the 12-epoch schedule
    with pytest.raises(UnknownMetric, match="cifar10"):
        nb201.query(0, "cifar10", "val_acc")  # NATS trains 'cifar10' on train+valid: no val set
    with pytest.raises(UnknownMetric, match="mnist"):
        nb201.query(0, "mnist")
    with pytest.raises(UnknownMetric, match=r"no metric 'test_acc' at 50 epochs for cifar10; its metrics for cifar10: flops, params, test_acc \(epochs 12, 200\)$"):
        nb201.column("test_acc", "cifar10", epochs=50)


def test_nb201_index_and_iteration(nb201):
    archs = list(nb201)
    assert len(archs) == 15_625 and nb201.index(archs[123]) == 123
    with pytest.raises(InvalidArchitecture):
        nb201.index("|bogus~0|")


def test_a_row_is_found_by_its_key_as_written_in_score_files(nb101):
    """best.json and predict's CSV name NB101 cells by module hash; the benchmark takes it back."""
    key = nb101.keys[67206]
    assert nb101.index(key) == 67206 and nb101.query(str(key), metric="params") == nb101.query(nb101.arch(67206), metric="params")
    with pytest.raises(InvalidArchitecture, match=r"no row of NB101Benchmark\(.*\) has the key '0{32}', and it is not an arch: .* is a string, not a cell"):
        nb101.index("0" * 32)  # no row has it
    with pytest.raises(InvalidArchitecture, match="'ab' is a string, not a cell"):  # was unpacked as matrix 'a', ops 'b'
        nb101.index("ab")
    with pytest.raises(InvalidArchitecture, match=r"a module hash names a cell through a benchmark: .*bench.arch\(bench.index\(hash\)\)"):
        build_network("nb101", str(key), "cifar10")  # a real hash, but the space (not the benchmark) cannot look it up


def test_rows_outside_the_table_are_refused_not_wrapped(nb101, nb201):
    assert nb101.arch(np.int64(5)) == nb101.arch(5)
    for bench in (nb101, nb201):
        for row in (-1, len(bench), True):  # -1 would silently be the last row, True row 1
            with pytest.raises(InvalidArchitecture, match=rf"has rows 0\.\.{len(bench) - 1}, got {row}"):
                bench.arch(row)


def test_data_is_looked_for_in_root_then_the_env_then_dot_data_then_the_embedded_tables(data_root, tmp_path, monkeypatch):
    """With nothing set a user gets the embedded tables; their own folders come first, in the documented order;
    an official file wins wherever it is; an explicit root is used alone."""
    from lightning_nas.benchmarks import EMBEDDED_DATA

    assert data_root == EMBEDDED_DATA and NB101Benchmark.find_sources()[0] == EMBEDDED_DATA / "nb101" / "nb101_full_space.npz"
    assert "source: nb101/nb101_full_space.npz (embedded in the package)" in create("nb101").summary()
    env, dot_data = tmp_path / "env", tmp_path / "data"
    _sample_nb101(data_root, env / "nb101", rows=100)
    monkeypatch.setenv("LIGHTNING_NAS_DATA", str(env))
    assert len(create("nb101", partial=True)) == 100 and f"source: {env / 'nb101' / 'nb101_full_space.npz'}" in create("nb101", partial=True).summary()
    assert len(create("nb201")) == 15_625  # what the env folder lacks still comes from the embedded tables
    _sample_nb101(data_root, dot_data / "nb101", rows=50)  # ./data (the tests run in tmp_path) comes after the env
    assert len(create("nb101", partial=True)) == 100
    monkeypatch.delenv("LIGHTNING_NAS_DATA")
    assert len(create("nb101", partial=True)) == 50
    (dot_data / "nb101" / "nasbench_only108.tfrecord").write_bytes(b"")  # an official file, found in any folder, wins
    monkeypatch.setenv("LIGHTNING_NAS_DATA", str(env))
    assert [p.resolve() for p in NB101Benchmark.find_sources()] == [dot_data / "nb101" / "nasbench_only108.tfrecord"]
    assert len(create("nb101", root=env, partial=True)) == 100  # an explicit root alone
    with pytest.raises(BenchmarkFileError, match=f"no NAS-Bench-201 data in {env / 'nb201'}: expected one of"):
        create("nb201", root=env)


def test_create_names_the_missing_folder(tmp_path):
    with pytest.raises(BenchmarkFileError, match=str(tmp_path / "nb101")):
        create("nb101", root=tmp_path)
    with pytest.raises(BenchmarkFileError, match="no NATS-sss archive"):
        NATSSizeBenchmark(root=tmp_path)
    with pytest.raises(ValueError, match="unknown benchmark"):
        create("nb301")


def _sample_nb101(data_root, folder, name="nb101_full_space.npz", rows=2000):
    """The first ``rows`` rows of the compact full-space table, in its exact format, as ``folder/name``."""
    folder.mkdir(parents=True, exist_ok=True)
    with np.load(data_root / "nb101" / "nb101_full_space.npz") as npz:
        np.savez(folder / name, **{k: v[:rows] if v.shape and len(v) == len(npz["module_hash"]) else v for k, v in npz.items()})
    return folder / name


def _copy_nb101(data_root, tmp_path, name="nb101_full_space.npz"):
    return _sample_nb101(data_root, tmp_path / "nb101", name)


def test_small_npz_source_loads(data_root, tmp_path):
    _copy_nb101(data_root, tmp_path)
    bench = NB101Benchmark(root=tmp_path, partial=True)
    assert len(bench) == 2000
    assert bench.query(bench.arch(0), metric="params") == 8_555_530
    assert len(NB101Benchmark(source=tmp_path / "nb101", partial=True)) == 2000  # a source folder is searched like <root>/nb101
    with pytest.raises(BenchmarkFileError, match=f"no NAS-Bench-101 data in {tmp_path}: expected one of"):
        NB101Benchmark(source=tmp_path)  # was: "NB101 source ... does not exist"
    (tmp_path / "cells.jsonl.gz").write_bytes(b"")
    with pytest.raises(BenchmarkFileError, match="cells.jsonl.gz is neither an official .tfrecord nor the compact"):
        NB101Benchmark(source=tmp_path / "cells.jsonl.gz")  # was: "not a readable .npz (... pickled data ...)"


def test_a_smaller_npz_table_joins_the_30k_subset_by_module_hash(data_root, nb101, tmp_path):
    """The subset's ``index`` counts rows of the full-space file; a 2,000-row sample beside it has
    other rows, and pointing `source` at it used to fail with "'index'/'module_hash' do not match"."""
    sample_path = _sample_nb101(data_root, tmp_path / "sample", "nb101_sample2000.npz", rows=2000)
    shutil.copy(data_root / "nb101" / "nb101_subset30k_val_by_epoch.npz", sample_path.parent)
    sample = NB101Benchmark(source=sample_path, partial=True)
    val = sample.column("val_acc_single_run", epochs=108)
    rows = [nb101.index(key) for key in sample.keys]
    assert rows == list(range(2000)) and not np.isnan(val).any()  # the first 2,000 cells are in the 30k subset
    np.testing.assert_array_equal(val, nb101.column("val_acc_single_run", epochs=108)[:2000])

    lonely = _copy_nb101(data_root, tmp_path)  # the sample's first 100 rows beside a subset of none of them
    with np.load(sample_path) as npz:
        np.savez(lonely, **{k: v[100:] if v.shape and len(v) == 2000 else v for k, v in npz.items()})
        first = {"module_hash": npz["module_hash"][:100], **{f"val_acc_e{e}": np.zeros(100, np.float32) for e in (4, 12, 36, 108)}}
    np.savez(lonely.with_name("nb101_subset30k_val_by_epoch.npz"), **first, train_time_e108=np.zeros(100, np.float32))
    with pytest.raises(BenchmarkFileError, match=r"nb101_subset30k_val_by_epoch.npz: none of its 100 cells is in .*nb101_full_space.npz; move it away"):
        NB101Benchmark(root=tmp_path, partial=True)


def test_truncated_npz_is_a_clear_error(data_root, tmp_path):
    path = _copy_nb101(data_root, tmp_path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(BenchmarkFileError, match=r"nb101_full_space.npz: a truncated or damaged .npz \(its zip directory is missing\)"):
        NB101Benchmark(root=tmp_path, partial=True)
    path.write_text("hi\n")  # was: "not a readable .npz (This file contains pickled (object) data ... allow_pickle= ...)"
    with pytest.raises(BenchmarkFileError, match=r"nb101_full_space.npz: not an .npz \(an .npz is a zip archive; this file starts with b'hi\\n'\)"):
        NB101Benchmark(root=tmp_path, partial=True)


def test_npz_with_wrong_fields_names_them(tmp_path):
    (tmp_path / "nb101").mkdir()
    np.savez(tmp_path / "nb101" / "nb101_full_space.npz", module_hash=np.array([b"x"]), adjacency=np.zeros((1, 7, 7)))
    with pytest.raises(BenchmarkFileError, match="missing field.*ops"):
        NB101Benchmark(root=tmp_path, partial=True)


def test_an_nb201_source_may_name_the_compact_table_itself(data_root):
    table = data_root / "nb201" / "nb201_acc_200ep.csv"
    bench = NB201Benchmark(source=table)  # as NB101's source names its .npz; was "no NAS-Bench-201 data in .../nb201_acc_200ep.csv"
    assert len(bench) == 15_625 and bench.query(0, dataset="cifar10", metric="test_acc", epochs=12) == NB201Benchmark(root=data_root).query(0, dataset="cifar10", metric="test_acc", epochs=12)
    other = data_root / "nb201" / "cifar10_valid_split.json"
    with pytest.raises(BenchmarkFileError, match=r"NB201 source .*cifar10_valid_split.json is neither a NATS-tss archive .* nor the compact nb201_acc_200ep.csv"):
        NB201Benchmark(source=other)


def test_csv_with_wrong_columns_names_them(data_root, tmp_path):
    (tmp_path / "nb201").mkdir()
    src = (data_root / "nb201" / "nb201_acc_200ep.csv").read_text().splitlines()
    header = src[0].replace("cifar10_test_acc", "c10_test")
    (tmp_path / "nb201" / "nb201_acc_200ep.csv").write_text("\n".join([header, *src[1:]]))
    with pytest.raises(BenchmarkFileError, match="missing column 'cifar10_test_acc'"):
        NB201Benchmark(root=tmp_path)


def _set_field(line: str, column: int, value: str) -> str:
    fields = line.split(",")
    fields[column] = value
    return ",".join(fields)


@pytest.mark.parametrize("damage, message", [
    (lambda lines: [*lines[:5], lines[5].rsplit(",", 1)[0], *lines[6:]], r"nb201_acc_200ep.csv: row 6 has a different number of fields than the header"),
    (lambda lines: [*lines[:3], _set_field(lines[3], 2, "n/a"), *lines[4:]], r"nb201_acc_200ep.csv: column 'cifar10_test_acc' is not numeric .*'n/a'"),
    (lambda lines: [lines[0], lines[1].replace("avg_pool_3x3", "conv_5x5"), *lines[2:]], r"nb201_acc_200ep.csv: bad arch string .*conv_5x5"),
    (lambda lines: [*lines[:100], *lines[101:]], r"nb201_acc_200ep.csv: column 'index' must list 0..15624 in order"),
])
def test_a_damaged_csv_names_its_file_and_row(data_root, tmp_path, damage, message):
    (tmp_path / "nb201").mkdir()
    lines = (data_root / "nb201" / "nb201_acc_200ep.csv").read_text().splitlines()
    (tmp_path / "nb201" / "nb201_acc_200ep.csv").write_text("\n".join(damage(lines)))
    with pytest.raises(BenchmarkFileError, match=message):
        NB201Benchmark(root=tmp_path)


def test_csv_in_wrong_order_is_rejected(data_root, tmp_path):
    (tmp_path / "nb201").mkdir()
    lines = (data_root / "nb201" / "nb201_acc_200ep.csv").read_text().splitlines()
    a, b = lines[1].split(",", 1), lines[2].split(",", 1)
    lines[1], lines[2] = f"{a[0]},{b[1]}", f"{b[0]},{a[1]}"  # swap the arch rows, keep the index
    (tmp_path / "nb201" / "nb201_acc_200ep.csv").write_text("\n".join(lines))
    with pytest.raises(BenchmarkFileError, match="official NAS-Bench-201 index order"):
        NB201Benchmark(root=tmp_path)


# -- caches ------------------------------------------------------------------------------------

def test_interrupted_cache_write_leaves_no_file(tmp_path, monkeypatch):
    def savez_then_die(f, **arrays):
        f.write(b"PK\x03\x04 partial")
        raise KeyboardInterrupt

    monkeypatch.setattr(cache.np, "savez", savez_then_die)
    with pytest.raises(KeyboardInterrupt):
        cache.write_cache(tmp_path / "t.npz", {"a": np.arange(3)}, {})
    assert list(tmp_path.iterdir()) == []


def test_a_cache_that_cannot_be_written_is_a_warning(data_root, tmp_path, monkeypatch, caplog):
    (tmp_path / "afile").write_text("")
    monkeypatch.setenv("LIGHTNING_NAS_CACHE", str(tmp_path / "afile" / "cache"))  # a file stands where a folder should be
    _copy_nb101(data_root, tmp_path)
    with caplog.at_level("WARNING"):
        bench = NB101Benchmark(root=tmp_path, partial=True)  # the table is built all the same; only the next load is slower
    assert len(bench) == 2000  # _copy_nb101 copies the 2,000-cell sample
    assert "continuing without a cache (set LIGHTNING_NAS_CACHE to a writable folder)" in caplog.text
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile", "nb101"]  # and no temporary file is left


def test_corrupt_cache_is_detected_and_rebuilt(data_root, tmp_path, monkeypatch):
    monkeypatch.setenv("LIGHTNING_NAS_CACHE", str(tmp_path / "cache"))
    _copy_nb101(data_root, tmp_path)
    first = NB101Benchmark(root=tmp_path, partial=True)
    (path,) = (tmp_path / "cache").iterdir()
    arrays, meta = cache.read_cache(path)
    arrays["column:cifar10/params"][0] += 1  # silently wrong value...
    np.savez(path, **arrays, __meta__=np.frombuffer(json.dumps(meta).encode(), np.uint8))
    with pytest.raises(BenchmarkFileError, match="checksum"):
        cache.read_cache(path)  # ...is caught by the checksum
    rebuilt = NB101Benchmark(root=tmp_path, partial=True)
    assert np.array_equal(rebuilt.column("params"), first.column("params"))
    cache.read_cache(path)  # and the rebuilt cache verifies


# -- the official tfrecord, written in its exact format ----------------------------------------

def _record(arch, epochs, run, params, test=None):
    """One run's record as the official file stores it (``test``: the final test accuracy instead, a fraction)."""
    metrics = ModelMetrics(trainable_parameters=params, total_time=100.0)
    for frac in (0.0, 0.5, 1.0):  # init, halfway, final
        metrics.evaluation_data.add(
            current_epoch=frac * epochs, training_time=1000 * frac + run, train_accuracy=0.5 + 0.4 * frac,
            validation_accuracy=0.4 + 0.5 * frac - 0.01 * run,
            test_accuracy=test if test is not None and frac == 1.0 else 0.4 + 0.5 * frac - 0.02 * run - 0.001 * (108 - epochs),
        )
    return nb101_record(arch.module_hash, epochs, arch.matrix.tolist(), arch.ops, metrics)


@pytest.fixture
def tfrecord(tmp_path):
    space = NB101Space()
    archs = [space.validate(INCEPTION), space.sample(np.random.default_rng(3))]
    path = tmp_path / "nb101" / "nasbench_only108.tfrecord"
    path.parent.mkdir()
    # records of the two cells and of two budgets interleaved: a run is a record's place among its cell's of that budget
    write_records(path, [_record(a, epochs, run, 1000 + i) for run in range(3) for epochs in (108, 36) for i, a in enumerate(archs)])
    return path, archs


def test_tfrecord_means_and_runs(tfrecord, tmp_path, nb101):
    _path, archs = tfrecord
    bench = NB101Benchmark(root=tmp_path, partial=True)
    # the file has no FLOPs; computed from the cells, they are the compact table's (the shipped configs read them)
    assert [bench.query(a, metric="flops") for a in archs] == [nb101.query(a, metric="flops") for a in archs]
    assert len(bench) == 2 and set(bench.keys) == {a.module_hash for a in archs}
    assert bench.query(archs[0], metric="test_acc") == pytest.approx(90 - 2, abs=1e-4)  # mean of 90, 88, 86
    assert bench.query(archs[0], metric="test_acc_run2") == pytest.approx(86, abs=1e-4)
    assert [bench.query(a, metric="test_acc_run1", epochs=36) for a in archs] == pytest.approx([88 - 7.2] * 2, abs=1e-4)
    assert bench.query(archs[0], metric="val_acc") == pytest.approx(89, abs=1e-4)
    assert bench.query(archs[1], metric="params") == 1001
    assert bench.query(archs[0], metric="train_time") == pytest.approx(1001)
    assert bench.arch(bench.index(archs[1])) == archs[1]


def test_truncated_tfrecord_is_a_clear_error(tfrecord, tmp_path):
    path, _ = tfrecord
    data = path.read_bytes()
    path.write_bytes(data[:-7])
    with pytest.raises(BenchmarkFileError, match=r"nasbench_only108.tfrecord: truncated record at byte \d+"):
        NB101Benchmark(root=tmp_path, partial=True)


def test_corrupt_tfrecord_fails_its_crc(tfrecord, tmp_path):
    path, _ = tfrecord
    data = bytearray(path.read_bytes())
    data[40] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(BenchmarkFileError, match="CRC mismatch"):
        NB101Benchmark(root=tmp_path, partial=True)


def test_tfrecord_with_foreign_payload_names_the_record(tmp_path):
    path = tmp_path / "nb101" / "nasbench_only108.tfrecord"
    path.parent.mkdir()
    write_records(path, [b'{"not": "a nasbench row"}'])
    with pytest.raises(BenchmarkFileError, match="record 0 is not a NAS-Bench-101 row"):
        NB101Benchmark(root=tmp_path, partial=True)
