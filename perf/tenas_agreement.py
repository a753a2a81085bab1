"""``tenas_ntk`` against TE-NAS's own code on the same NB201 archs and images: per-arch rank agreement and CPU time.
Prints JSON lines.

    git clone https://github.com/VITA-Group/TENAS /tmp/TENAS   # its code is run from there, never copied here
    python perf/tenas_agreement.py --tenas /tmp/TENAS [--archs 40]

TE-NAS's protocol for an arch (``prune_launch.py`` / ``prune_tenas.py`` on NAS-Bench-201): its ``get_ntk_n`` on its
``C=3, N=1`` supernet with the arch's one-hot alphas, train-mode BN, three draws, each a fresh Kaiming-normal fan-out
initialisation and the next augmented batch of 72, averaged. Both sides get the same three batches (ours, from the
evaluator). TE-NAS's code is run twice with other initialisation seeds: the agreement of those two runs is the most
any reimplementation can reach, since the condition number of one random initialisation is noisy. TE-NAS's code
targets CUDA and an old torch: here ``.cuda()`` is a no-op and ``torch.symeig`` is ``eigvalsh``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np
import torch
from scipy.stats import spearmanr


def patch_for_cpu() -> None:
    torch.Tensor.cuda = lambda self, *args, **kwargs: self
    torch.cuda.current_device = lambda: "cpu"
    torch.symeig = lambda a, eigenvectors=False: (torch.linalg.eigvalsh(a), None)


class Config(dict):
    """TE-NAS reads its model config as attributes (an EasyDict)."""

    def __getattr__(self, key):
        try:
            return self[key]
        except KeyError:
            raise AttributeError(key) from None


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tenas", required=True, help="a checkout of github.com/VITA-Group/TENAS")
    parser.add_argument("--archs", type=int, default=40)
    args = parser.parse_args()
    patch_for_cpu()
    sys.path.insert(0, f"{args.tenas}/lib")
    from models import get_cell_based_tiny_net, get_search_spaces  # TE-NAS's
    from procedures.ntk import get_ntk_n  # TE-NAS's

    from lightning_nas.proxies import ProxyEvaluator
    from lightning_nas.proxies.protocol import initialise
    from lightning_nas.spaces import get_space

    ops = get_search_spaces("cell", "nas-bench-201")

    def tenas_network(arch: str):
        net = get_cell_based_tiny_net(Config(name="DARTS-V1", C=3, N=1, max_nodes=4, num_classes=10, space=ops, affine=True,
                                             track_running_stats=True, depth=-1, use_stem=True))
        alphas = torch.full((6, 5), -1000.0)  # TE-NAS's INF: softmax gives the arch's ops exactly
        for node, inputs in enumerate(arch.strip("|").split("|+|"), start=1):
            for item in inputs.split("|"):
                op, source = item.split("~")
                alphas[net.edge2index[f"{node}<-{source}"], ops.index(op)] = 0
        net.set_alphas([alphas])
        assert net.genotype().tostr() == arch
        return net

    space = get_space("nb201")
    rng = np.random.default_rng(123)
    archs = [space.sample(rng) for _ in range(args.archs)]
    ours = ProxyEvaluator("nb201", ["tenas_ntk"])
    single = ProxyEvaluator("nb201", ["tenas_ntk"], protocol={"tenas_ntk": {"repeats": 1, "init": "default", "augment": False}})
    batches = ours.batches["tenas_ntk"]
    rows = []
    for k, arch in enumerate(archs):
        row = {"arch": arch}
        for run in (0, 1):
            torch.manual_seed(1000 * run + k)
            start = time.perf_counter()
            network = tenas_network(arch)
            conds = []
            for images, labels in batches:
                initialise(network, "kaiming_normal_fanout")
                conds += get_ntk_n([(images, labels)], [network], recalbn=0, train_mode=True, num_batch=1)
            row[f"tenas_{run}"], row[f"tenas_seconds_{run}"] = float(np.mean(conds)), time.perf_counter() - start
        for name, evaluator in (("ours", ours), ("single", single)):
            start = time.perf_counter()
            row[name] = -evaluator.score(arch)["tenas_ntk"]
            row[f"{name}_seconds"] = time.perf_counter() - start
        rows.append(row)

    def spearman(a: str, b: str) -> float:
        x, y = np.array([r[a] for r in rows]), np.array([r[b] for r in rows])
        ok = np.isfinite(x) & np.isfinite(y)
        return round(float(spearmanr(x[ok], y[ok]).statistic), 4)

    def median(key: str) -> float:
        return round(float(np.median([r[key] for r in rows])), 3)

    print(json.dumps({"figure": "tenas_ntk_agreement_with_tenas_code", "n_archs": len(rows),
                      "spearman_ours_vs_tenas": spearman("ours", "tenas_0"), "spearman_ours_vs_tenas_other_seeds": spearman("ours", "tenas_1"),
                      "spearman_tenas_vs_tenas_other_seeds": spearman("tenas_0", "tenas_1"),
                      "spearman_single_draw_vs_tenas": spearman("single", "tenas_0"),
                      "protocol": ours.settings["protocol"]["tenas_ntk"]}))
    print(json.dumps({"figure": "tenas_ntk_seconds_per_arch", "ours": median("ours_seconds"), "tenas_code": median("tenas_seconds_0"),
                      "ratio": round(median("ours_seconds") / median("tenas_seconds_0"), 3), "target_ratio": 0.5, "draws": len(batches),
                      "units": "median wall seconds per NB201 arch on this 2-core CPU, network build included, same draws on both sides"}))


if __name__ == "__main__":
    main()
