import subprocess
import sys

from lightning_nas.cli import main


def test_prepare_prints_a_summary(capsys):
    assert main(["prepare", "--space", "nb201"]) == 0
    out = capsys.readouterr().out
    assert "15625 archs" in out and "cifar10/test_acc@200" in out and "encodings ['renas', 'graph', 'onehot']" in out


def test_prepare_reports_missing_data_without_a_traceback(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "lightning_nas", "prepare", "--space", "nb101", "--root", str(tmp_path)],
        capture_output=True, text=True,
    )
    assert proc.returncode == 1
    assert "error: no NAS-Bench-101 data in" in proc.stderr and "Traceback" not in proc.stderr
